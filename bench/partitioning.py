"""Monthly partitioning of the raw tables, measured at a small scale (docs/capacity.md).

One data set, two copies of it, the same product code on both:

- the set: bench/dashboard_data.py's responses (with their customers, interactions,
  invitations, reasons and cases) over 400 days ending 2026-11-22, plus the raw gateway
  rows they imply: one inbound reply per response (linked as the response's message) and
  two delivery receipts (sent, delivered) per sent invitation;
- `<db>_plain`: the schema as migrated; `<db>_part`: the same, with the raw tables
  (PARTITIONED below) converted to tables range-partitioned by month of their time column.

On the two copies, in interleaved rounds (`--rounds`, the order swapped every round;
medians compared): fresh customers with a sent invitation and their replies stored by
the webhook's own store (surveys.replies.reply_store, each reply twice as a gateway's
retry; on the partitioned copy it fails, and the store it would need instead runs: a
narrow unpartitioned table of message ids for the duplicate check, then a plain INSERT),
the outbox relay (surveys.relay.outbox_relay) and the reply processing
(surveys.replies.replies_process) of every relayed batch, the health read of the relay's
lag, the rollup refresh of today and of a past day (nps.reporting.refresh.
rollups_refresh_day) and `GET /dashboard/` as a supervisor. Then on each copy: retention
(surveys.retention.surveys_rows_anonymise) of the oldest month and a half, and the removal
of the largest month's raw rows: DELETE on the plain copy, DETACH + DROP of the partition
on the partitioned one (the rows pointing at them set to NULL first on both).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_scale_part \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/6 \\
    .venv/bin/python bench/partitioning.py [--responses 200000] [--replies 2000] [--load-only]

The database name must contain "bench"; the two copies are made from it with CREATE
DATABASE ... TEMPLATE and dropped first if they exist. The Redis db must not be 0: the
bench queue's tasks the relay and the replies publish are deleted after each step.
"""

# SQL text here is built from this module's constants and catalog names only.
# ruff: noqa: S608

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUEUE = "nps-bench-part"
# (table, partition key): the tables that grow with traffic and are never read whole.
PARTITIONED = (
    ("surveys_inboundmessage", "received_at"),
    ("surveys_deliveryreceipt", "received_at"),
)

# The columns pointing at a partitioned table's rows (Django: on_delete=SET_NULL).
REFERENCING = {
    "surveys_inboundmessage": (
        ("surveys_response", "message_id"),
        ("surveys_outboundmessage", "trigger_id"),
        ("surveys_consentchange", "message_id"),
    ),
}


def say(text: str) -> None:
    print(text, flush=True)


def _django() -> None:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_scale_part")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/6")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["CELERY_QUEUE"] = QUEUE
    import django

    django.setup()


def _load_avg() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


# ---------------------------------------------------------------- the data set


def raw_load() -> dict[str, int]:
    """The raw gateway rows of the loaded responses and invitations (set-based, in SQL)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM surveys_inboundmessage),"
            " (SELECT count(*) FROM surveys_response WHERE message_id IS NOT NULL),"
            " (SELECT count(*) FROM surveys_response),"
            " (SELECT count(*) FROM surveys_deliveryreceipt)"
        )
        inbound, linked, responses, receipts = cursor.fetchone()
        if inbound == linked == responses:
            return {"inbound": inbound, "receipts": receipts}
        cursor.execute("UPDATE surveys_response SET message_id = NULL WHERE message_id IS NOT NULL")
        cursor.execute("DELETE FROM surveys_inboundmessage")
        cursor.execute("DELETE FROM surveys_deliveryreceipt")
        cursor.execute(
            """INSERT INTO surveys_inboundmessage (gateway, gateway_message_id, phone, text,
                   payload, received_at, enqueued_at, processed_at, outcome, invitation_id)
               SELECT 'simulator', 'MO' || r.id, c.phone, r.score::text,
                   jsonb_build_object('from', c.phone, 'text', r.score::text),
                   r.created_at, r.created_at, r.created_at + interval '2 seconds',
                   'scored', r.invitation_id
               FROM surveys_response r JOIN surveys_customer c ON c.id = r.customer_id
               ORDER BY r.created_at"""
        )
        inbound = cursor.rowcount
        cursor.execute(
            """UPDATE surveys_response r SET message_id = m.id FROM surveys_inboundmessage m
               WHERE m.gateway = 'simulator' AND m.gateway_message_id = 'MO' || r.id"""
        )
        cursor.execute(
            """UPDATE surveys_invitation SET provider_message_id = 'SM' || id
               WHERE sent_at IS NOT NULL AND provider_message_id = ''"""
        )
        cursor.execute(
            """INSERT INTO surveys_deliveryreceipt (gateway, provider_message_id, status,
                   reference, error, payload, received_at, enqueued_at, processed_at, outcome)
               SELECT 'simulator', i.provider_message_id, s.status, '', '', '{}'::jsonb,
                   i.sent_at + s.after, i.sent_at + s.after,
                   i.sent_at + s.after + interval '1 second', 'applied'
               FROM surveys_invitation i
               CROSS JOIN (VALUES ('sent', interval '1 second'),
                                  ('delivered', interval '5 seconds')) AS s(status, after)
               WHERE i.sent_at IS NOT NULL
               ORDER BY i.sent_at, s.status"""
        )
        receipts = cursor.rowcount
        for table, _key in PARTITIONED:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    return {"inbound": inbound, "receipts": receipts}


def _defaults_for_generator() -> None:
    """Columns added after bench/dashboard_data.py was written get their empty value as a
    default in this database, so its INSERTs (which do not name them) still load."""
    from django.db import connection

    from bench.dashboard_data import LOADED

    empty = {"boolean": "false", "character varying": "''", "text": "''", "integer": "0"}
    empty |= {"smallint": "0", "bigint": "0", "jsonb": "'{}'", "interval": "'0'"}
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT table_name, column_name, data_type FROM information_schema.columns
               WHERE table_name = ANY(%s) AND is_nullable = 'NO' AND column_default IS NULL
                 AND is_identity = 'NO'""",
            [list(LOADED)],
        )
        for table, column, kind in cursor.fetchall():
            if kind in empty:
                cursor.execute(
                    f'ALTER TABLE {table} ALTER COLUMN "{column}" SET DEFAULT {empty[kind]}'
                )


def _copy_database(template: str, name: str) -> None:
    from django.db import connection

    connection.close()  # CREATE DATABASE ... TEMPLATE wants no session on the template
    import psycopg
    from psycopg import sql

    db = connection.settings_dict
    params = {"host": db["HOST"] or None, "port": db["PORT"] or None, "user": db["USER"] or None}
    with psycopg.connect(autocommit=True, dbname="postgres", **params) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )


def _use_database(name: str) -> None:
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


# ---------------------------------------------------------------- the conversion


def month_starts(first: date, last: date) -> list[date]:
    """The first day of every month from first's month to the month after last's."""
    months = [first.replace(day=1)]
    while months[-1] <= last.replace(day=1):
        current = months[-1]
        months.append(date(current.year + current.month // 12, current.month % 12 + 1, 1))
    return months


def partition_name(table: str, month: date) -> str:
    return f"{table}_{month:%Y_%m}"


@dataclass
class Conversion:
    table: str
    key: str
    partitions: int = 0
    rows: int = 0
    seconds: float = 0.0
    dropped_foreign_keys: list[str] = field(default_factory=list)
    widened_unique: list[str] = field(default_factory=list)


def partition_by_month(cursor: Any, table: str, key: str, months: list[date]) -> Conversion:
    """Rewrite `table` as a table range-partitioned by month of `key`, data, names and all.

    PostgreSQL 15 requires every unique constraint of a partitioned table, its primary key
    included, to contain the partition key: the primary key becomes (id, key) and every
    unique constraint gets `key` appended. A foreign key must point at a unique constraint,
    so the foreign keys pointing at the table's id are dropped. Identity columns are not
    allowed on a partitioned table before PostgreSQL 17: id takes its values from a
    sequence owned by the column instead."""
    done = Conversion(table, key)
    started = time.perf_counter()
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred check may wait on the table
    cursor.execute(
        """SELECT conrelid::regclass::text, conname FROM pg_constraint
           WHERE contype = 'f' AND confrelid = %s::regclass""",
        [table],
    )
    for referencing, name in cursor.fetchall():
        cursor.execute(f'ALTER TABLE {referencing} DROP CONSTRAINT "{name}"')
        done.dropped_foreign_keys.append(f"{referencing}.{name}")
    cursor.execute(
        """SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint
           WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f', 'c')""",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
           WHERE i.indrelid = %s::regclass
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        [table],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    old = f"{table}_unpartitioned"
    cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
    cursor.execute(
        f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING STORAGE) "
        f"PARTITION BY RANGE ({key})"
    )
    for lo, hi in itertools.pairwise(months):
        cursor.execute(
            f"CREATE TABLE {partition_name(table, lo)} PARTITION OF {table} "
            f"FOR VALUES FROM ('{lo.isoformat()} 00:00+00') TO ('{hi.isoformat()} 00:00+00')"
        )
        done.partitions += 1
    cursor.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    done.rows = cursor.rowcount
    cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {old}")
    next_id = cursor.fetchone()[0]
    cursor.execute(f"DROP TABLE {old}")
    cursor.execute(f"CREATE SEQUENCE {table}_id_seq OWNED BY {table}.id START {next_id}")
    cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{table}_id_seq')")
    for name, kind, definition in constraints:
        if kind in ("p", "u"):
            definition = definition.rstrip(")") + f", {key})"
            if kind == "u":
                done.widened_unique.append(f"{name} {definition}")
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for definition in indexes:
        cursor.execute(definition)
    cursor.execute(f"ANALYZE {table}")
    done.seconds = time.perf_counter() - started
    return done


def convert(first: date, last: date) -> list[Conversion]:
    from django.db import connection, transaction

    months = month_starts(first, last)
    with transaction.atomic(), connection.cursor() as cursor:
        return [partition_by_month(cursor, table, key, months) for table, key in PARTITIONED]


# ---------------------------------------------------------------- the product on it


def _queue_clear() -> None:
    from nps.celery import app

    with app.connection_for_write() as conn:  # this benchmark's queues only
        client = conn.default_channel.client
        for key in client.scan_iter(f"{QUEUE}*"):
            client.delete(key)


def replies_store(
    survey: Any, round_: int, count: int
) -> tuple[float, int, str, tuple[float, int, str] | None]:
    """`count` fresh customers with a sent invitation reply through the webhook's store."""
    from django.db import transaction

    from bench.loop import _seed_customers
    from surveys.gateways.base import InboundSMS
    from surveys.replies import reply_store

    sent = _seed_customers(survey, 2 + round_, count)
    stored = 0
    error = ""

    def store() -> None:
        nonlocal stored, error
        for item in sent:
            sms = InboundSMS(item.message_id, item.phone, "3 排队太久" if item.detractor else "9")
            try:
                with transaction.atomic():
                    stored += reply_store(gateway="simulator", sms=sms).created
                    # The gateway retries: the same message id again must store nothing.
                    if reply_store(gateway="simulator", sms=sms).created:
                        error = f"{sms.message_id} stored twice"
            except Exception as failed:  # reported; the changed store runs instead
                error = f"{type(failed).__name__}: {str(failed).splitlines()[0]}"
                break

    seconds, _ = _timed(store)
    changed = _store_changed(sent) if error else None
    return seconds, stored, error, changed


KEYS = "surveys_inboundkey"  # the changed store's global duplicate check


def _store_changed(sent: list[Any]) -> tuple[float, int, str]:
    """What reply_store must become on a partitioned table, written here as SQL: the
    duplicate check moves to a narrow unpartitioned table of (gateway, message id), one
    INSERT ... ON CONFLICT DO NOTHING RETURNING there, then a plain INSERT of the row.
    Each reply is stored twice (the gateway's retry), as above."""
    from django.db import connection, transaction
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute(
            f"""CREATE TABLE IF NOT EXISTS {KEYS} (gateway varchar(32),
                gateway_message_id varchar(64), PRIMARY KEY (gateway, gateway_message_id))"""
        )
        cursor.execute(
            "DELETE FROM surveys_inboundmessage WHERE gateway_message_id = ANY(%s)",
            [[s.message_id for s in sent]],
        )
    stored = 0
    error = ""
    started = time.perf_counter()
    for item in sent:
        for _attempt in range(2):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {KEYS} VALUES ('simulator', %s) ON CONFLICT DO NOTHING "
                    "RETURNING 1",
                    [item.message_id],
                )
                if cursor.fetchone() is None:
                    continue
                cursor.execute(
                    """INSERT INTO surveys_inboundmessage (gateway, gateway_message_id, phone,
                       text, payload, received_at, outcome)
                       VALUES ('simulator', %s, %s, %s, '{}', %s, '') RETURNING id""",
                    [
                        item.message_id,
                        item.phone,
                        "3 排队太久" if item.detractor else "9",
                        timezone.now(),
                    ],
                )
                stored += 1
                if _attempt:
                    error = f"{item.message_id} stored twice"
    return time.perf_counter() - started, stored, error


def relay_and_process() -> dict[str, float]:
    """The outbox relay until nothing is pending, then every relayed batch processed."""
    from surveys.models import InboundMessage
    from surveys.relay import outbox_oldest_unrelayed, outbox_relay
    from surveys.replies import replies_process

    lag_seconds, _ = _timed(lambda: outbox_oldest_unrelayed(InboundMessage))
    relay_seconds = 0.0
    relayed = 0
    while True:
        seconds, count = _timed(outbox_relay)
        relay_seconds += seconds
        relayed += count
        if count == 0:
            break
    _queue_clear()
    pending = InboundMessage.objects.filter(processed_at__isnull=True, enqueued_at__isnull=False)
    ids = list(pending.order_by("pk").values_list("pk", flat=True))
    process_seconds = 0.0
    outcomes: dict[str, int] = {}
    for start in range(0, len(ids), 200):
        batch = ids[start : start + 200]
        seconds, results = _timed(lambda batch=batch: replies_process(message_ids=batch))
        process_seconds += seconds
        for outcome in results:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    _queue_clear()
    return {
        "relayed": relayed,
        "relay s": relay_seconds,
        "processed": len(ids),
        "process s": process_seconds,
        "unprocessed after": pending.count(),
        "scored": outcomes.get("scored", 0),
        "lag read ms": lag_seconds * 1000,
        "outcomes": outcomes,
    }


def dashboard(repeat: int) -> dict[str, float]:
    """The rollup refresh of today and of one past day, then GET /dashboard/ (median)."""
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from bench.dashboard_data import END_DAY
    from followups.permissions import roles_ensure
    from followups.roles import SUPERVISORS
    from nps.reporting.days import local_today
    from nps.reporting.refresh import rollups_refresh_day

    today_s, _ = _timed(lambda: rollups_refresh_day(day=local_today()))
    past_s, _ = _timed(lambda: rollups_refresh_day(day=END_DAY))
    call_command("collectstatic", interactive=False, verbosity=0)
    roles_ensure()
    user, _created = User.objects.get_or_create(username="bench-supervisor", is_staff=True)
    user.groups.add(Group.objects.get(name=SUPERVISORS))
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    query = {"start": (END_DAY - timedelta(days=89)).isoformat(), "end": END_DAY.isoformat()}
    times = []
    for _ in range(repeat):
        seconds, answer = _timed(lambda: client.get(reverse("dashboard"), query))
        if answer.status_code != 200:
            sys.exit(f"GET /dashboard/ answered {answer.status_code}")
        times.append(seconds)
    return {
        "refresh today s": today_s,
        "refresh past day s": past_s,
        "page median ms": statistics.median(times) * 1000,
    }


def anonymise(first_month: date) -> tuple[float, dict[str, int]]:
    """surveys_rows_anonymise of everything up to the end of `first_month`."""
    from surveys.retention import surveys_rows_anonymise

    second = month_starts(first_month, first_month)[-1]
    before = datetime(second.year, second.month, second.day, tzinfo=UTC)
    return _timed(lambda: surveys_rows_anonymise(before=before))


def month_remove(month: date, partitioned: bool) -> dict[str, tuple[int, float, float]]:
    """Remove one month of raw gateway rows: the rows pointing at them set to NULL first
    (Django's SET_NULL; the partitioned copy has no foreign key left to refuse a dangling
    id), then DELETE, or DETACH and DROP of the month's partition. Per table: rows, seconds
    setting references to NULL, seconds removing."""
    from django.db import connection, transaction

    after = month_starts(month, month)[-1]
    span = [datetime(m.year, m.month, 1, tzinfo=UTC) for m in (month, after)]
    removed: dict[str, tuple[int, float, float]] = {}
    with connection.cursor() as cursor:
        for table, key in PARTITIONED:
            where = f"{key} >= %s AND {key} < %s"
            cursor.execute(f"SELECT count(*) FROM {table} WHERE {where}", span)
            rows = cursor.fetchone()[0]
            started = time.perf_counter()
            with transaction.atomic():
                for referencing, column in REFERENCING.get(table, ()):
                    cursor.execute(
                        f"UPDATE {referencing} SET {column} = NULL WHERE {column} IN "
                        f"(SELECT id FROM {table} WHERE {where})",
                        span,
                    )
                unlinked = time.perf_counter() - started
                if partitioned:
                    part = partition_name(table, month)
                    cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {part}")
                    cursor.execute(f"DROP TABLE {part}")
                else:
                    cursor.execute(f"DELETE FROM {table} WHERE {where}", span)
            removed[table] = (rows, unlinked, time.perf_counter() - started - unlinked)
            cursor.execute(f"SELECT count(*) FROM {table} WHERE {where}", span)
            if cursor.fetchone()[0]:
                sys.exit(f"{table}: rows of {month:%Y-%m} left after the removal")
    return removed


def _round(name: str, survey: Any, round_: int, args: argparse.Namespace) -> dict[str, Any]:
    """One round on one copy: replies stored, relayed and processed; rollups; the page."""
    from surveys.queue import task_queue

    _use_database(name)
    # The first publish opens the broker connection and declares the queues (seconds):
    # done before anything is timed, then the empty task deleted.
    task_queue("surveys.tasks.process_replies", [], after_commit=False)
    _queue_clear()
    seconds, stored, error, changed = replies_store(survey, round_, args.replies)
    return {
        "store": {"s": seconds, "stored": stored, "error": error, "changed": changed},
        "relay": relay_and_process(),
        "dashboard": dashboard(args.repeat),
        "load": _load_avg(),
    }


def _median(rounds: list[dict[str, Any]], pick: Callable[[dict[str, Any]], float]) -> float:
    return statistics.median(pick(r) for r in rounds)


def _report(copy: str, rounds: list[dict[str, Any]]) -> None:
    for n, r in enumerate(rounds):
        store, relay, page = r["store"], r["relay"], r["dashboard"]
        line = f"  {copy} round {n + 1}: reply_store {store['s']:.2f} s"
        if store["error"]:
            line += f" (FAILED: {store['error']}; changed store {store['changed'][0]:.2f} s)"
        line += (
            f"; relay {relay['relayed']:,} rows {relay['relay s']:.2f} s; replies_process "
            f"{relay['processed']:,} in {relay['process s']:.2f} s {relay['outcomes']}, "
            f"unprocessed after {relay['unprocessed after']}; lag read "
            f"{relay['lag read ms']:.1f} ms; refresh today {page['refresh today s']:.2f} s, "
            f"past day {page['refresh past day s']:.2f} s; GET /dashboard/ median "
            f"{page['page median ms']:.0f} ms; {r['load']}"
        )
        say(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=200_000)
    parser.add_argument("--replies", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=7, help="dashboard GETs per copy")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per copy")
    parser.add_argument("--load-only", action="store_true", help="load the data set and stop")
    args = parser.parse_args()
    _django()
    from django.db import connection

    from bench.dashboard_data import data_load, data_loaded
    from bench.database import database_ready

    base = connection.settings_dict["NAME"]
    if "bench" not in base or os.environ["CELERY_BROKER_URL"].rstrip("/").endswith("/0"):
        sys.exit("DATABASE_URL needs 'bench' in its name and CELERY_BROKER_URL a Redis db but 0")
    say(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {_load_avg()}")
    database_ready(connection.settings_dict)
    if not data_loaded(args.responses):
        say(f"loading {args.responses:,} responses")
        _defaults_for_generator()
        data_load(args.responses, say)
    rows = raw_load()
    say(f"raw rows: {rows['inbound']:,} inbound, {rows['receipts']:,} receipts")
    if args.load_only:
        return 0
    from bench.dashboard_data import END_DAY, START_DAY
    from bench.loop import _seed_routing

    copies = {"plain": f"{base}_plain", "part": f"{base}_part"}
    surveys = {}
    for suffix, name in copies.items():
        _use_database(base)
        _copy_database(base, name)
        _use_database(name)
        if suffix == "part":
            for c in convert(START_DAY, datetime.now(UTC).date()):
                say(
                    f"{c.table}: {c.rows:,} rows into {c.partitions} partitions "
                    f"in {c.seconds:.1f} s"
                )
                say(f"  foreign keys dropped: {', '.join(c.dropped_foreign_keys) or 'none'}")
                say(f"  unique constraints widened: {'; '.join(c.widened_unique) or 'none'}")
        surveys[suffix] = _seed_routing()
    rounds: dict[str, list[dict[str, Any]]] = {"plain": [], "part": []}
    for round_ in range(args.rounds):  # interleaved, the order swapped every round
        order = ("plain", "part") if round_ % 2 == 0 else ("part", "plain")
        for suffix in order:
            rounds[suffix].append(_round(copies[suffix], surveys[suffix], round_, args))
    for suffix in ("plain", "part"):
        _report(suffix, rounds[suffix])
    first_full = month_starts(START_DAY, START_DAY)[1]
    largest = month_starts(END_DAY, END_DAY)[0].replace(month=END_DAY.month - 1)
    retention: dict[str, Any] = {}
    for suffix in ("plain", "part"):
        _use_database(copies[suffix])
        seconds, counts = anonymise(first_full)
        say(
            f"  {suffix}: surveys_rows_anonymise to the end of {first_full:%Y-%m}: "
            f"{seconds:.2f} s {counts}"
        )
        retention[suffix] = month_remove(largest, suffix == "part")
        how = "DETACH + DROP partition" if suffix == "part" else "DELETE"
        for table, (rows, unlinked, secs) in retention[suffix].items():
            say(
                f"  {suffix}: {largest:%Y-%m} of {table}: {rows:,} rows; references set to "
                f"NULL {unlinked * 1000:.0f} ms, {how} {secs * 1000:.0f} ms; {_load_avg()}"
            )
    say("\n== partitioned / plain (same run, medians of the interleaved rounds)")
    for label, pick in (
        ("relay", lambda r: r["relay"]["relay s"]),
        ("replies_process", lambda r: r["relay"]["process s"]),
        ("rollup refresh, today", lambda r: r["dashboard"]["refresh today s"]),
        ("rollup refresh, past day", lambda r: r["dashboard"]["refresh past day s"]),
        ("GET /dashboard/", lambda r: r["dashboard"]["page median ms"]),
    ):
        plain, part = _median(rounds["plain"], pick), _median(rounds["part"], pick)
        say(f"  {label}: {plain:.3f} -> {part:.3f} = {part / plain:.2f}x time")
    plain_store = _median(rounds["plain"], lambda r: r["store"]["s"])
    part_store = _median(rounds["part"], lambda r: r["store"]["changed"][0])
    say(f"  store: reply_store {plain_store:.2f} s -> changed store {part_store:.2f} s")
    for table, (_rows, _unlinked, secs) in retention["part"].items():
        deleted = retention["plain"][table][2]
        say(
            f"  {table}, one month: DELETE {deleted * 1000:.0f} ms / DROP "
            f"{secs * 1000:.0f} ms = {deleted / secs:.1f}x"
        )
    failed = any(r["relay"]["unprocessed after"] for rs in rounds.values() for r in rs)
    return 1 if failed or any(r["store"]["error"] for r in rounds["plain"]) else 0


if __name__ == "__main__":
    sys.exit(main())
