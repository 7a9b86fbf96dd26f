"""What the indexes of surveys_invitation cost its writes: the schema's indexes against the
same plus the four that migration 0022 dropped, side by side in one run.

Two copies of the table's columns (`CREATE TABLE ... (LIKE surveys_invitation)`, no
foreign keys on either): `after` with the indexes the migrated table has now (read from
the catalog, so the benchmark follows the schema), `before` with those and the dropped
four (surveys/migrations/0022_invitation_fewer_indexes.py). Each starts with `--base`
rows (indexes of some depth). Then, in `--rounds` rounds, the table order swapped every
round, on each copy in turn: `--rows` new invitations inserted in one statement (the
import's and the planner's shape), then the send's life in batches of `--batch` rows by
id as the sending kit writes it: claimed (status, claimed_at, attempts), sent (status,
provider_message_id, sent_at, gateway), delivered (status, delivered_at). Each phase's
time and WAL bytes; medians over the rounds, and before / after.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_invitation_indexes \\
    .venv/bin/python bench/invitation_indexes.py [--base 200000] [--rows 20000] [--rounds 5]

The database name must contain "bench" (it is created and migrated if missing); the two
copies are dropped at the end.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TABLE = "surveys_invitation"
COPIES = ("before", "after")
PHASES = ("insert", "claimed", "sent", "delivered")
INSERT = """
INSERT INTO {table} (interaction_id, customer_id, survey_id, purpose, status,
    suppressed_reason, language, text, send_at, attempts, gateway, provider_message_id,
    failure_reason, created_at)
SELECT n, n / 2 + 1, 1, CASE WHEN n %% 50 = 0 THEN 'verification' ELSE 'survey' END,
    'scheduled', '', 'zh', '', now(), 0, '', '', '', now()
FROM generate_series(%(first)s, %(last)s) AS n
RETURNING id"""
UPDATES = {
    "claimed": "UPDATE {table} SET status = 'sending', claimed_at = now(), "
    "attempts = attempts + 1 WHERE id = ANY(%(ids)s)",
    "sent": "UPDATE {table} SET status = 'sent', provider_message_id = 'SM' || md5(id::text), "
    "sent_at = now(), gateway = 'twilio' WHERE id = ANY(%(ids)s)",
    "delivered": "UPDATE {table} SET status = 'delivered', delivered_at = now() "
    "WHERE id = ANY(%(ids)s)",
}


def _django() -> None:
    os.environ.setdefault(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_invitation_indexes"
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def _dropped_definitions() -> list[str]:
    """The four indexes migration 0022 dropped, as CREATE INDEX on `{table}`."""
    return [
        "CREATE INDEX ON {table} (customer_id)",
        "CREATE INDEX ON {table} (purpose)",
        "CREATE INDEX ON {table} (purpose varchar_pattern_ops)",
        "CREATE INDEX ON {table} (provider_message_id varchar_pattern_ops)",
    ]


def copies_make(cursor, base: int) -> dict[str, int]:
    """The two copies with `base` rows each; their index counts."""
    cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
    current = [  # "CREATE [UNIQUE] INDEX ON {table} USING ...", the name left to the server
        "CREATE {}INDEX ON {}".format(
            "UNIQUE " if definition.startswith("CREATE UNIQUE ") else "",
            definition.split(" ON ", 1)[1].replace(f"public.{TABLE} ", "{table} ", 1),
        )
        for (definition,) in cursor.fetchall()
    ]
    counts = {}
    for copy in COPIES:
        table = f"bench_invitation_{copy}"
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TABLE {table} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING IDENTITY)")
        definitions = list(current)
        if copy == "before":
            definitions += _dropped_definitions()
        for definition in definitions:
            cursor.execute(definition.format(table=table))
        counts[copy] = len(definitions)
        cursor.execute(INSERT.format(table=table), {"first": 1, "last": base})
        cursor.execute(f"VACUUM ANALYZE {table}")
    return counts


def phase_run(cursor, table: str, phase: str, ids: list[int], batch: int, first: int) -> tuple:
    """(seconds, WAL bytes, ids) of one phase on `table`."""
    cursor.execute("SELECT pg_current_wal_insert_lsn()")
    (lsn,) = cursor.fetchone()
    started = time.perf_counter()
    if phase == "insert":
        cursor.execute(INSERT.format(table=table), {"first": first, "last": first + len(ids) - 1})
        ids = [row[0] for row in cursor.fetchall()]
    else:
        for at in range(0, len(ids), batch):
            cursor.execute(UPDATES[phase].format(table=table), {"ids": ids[at : at + batch]})
    seconds = time.perf_counter() - started
    cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", [lsn])
    (wal,) = cursor.fetchone()
    return seconds, int(wal), ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    _django()
    from django.conf import settings
    from django.db import connection

    from bench.database import database_ready

    database_ready(settings.DATABASES["default"])
    connection.ensure_connection()
    connection.connection.autocommit = True
    times: dict[tuple[str, str], list[float]] = {}
    wal: dict[tuple[str, str], list[int]] = {}
    with connection.cursor() as cursor:
        counts = copies_make(cursor, args.base)
        print(
            f"indexes: before {counts['before']}, after {counts['after']}; "
            f"{args.base:,} rows to start, {args.rows:,} a round, batches of {args.batch}",
            flush=True,
        )
        first = args.base + 1
        for number in range(args.rounds):
            order = COPIES if number % 2 == 0 else COPIES[::-1]
            for copy in order:
                table = f"bench_invitation_{copy}"
                ids = [0] * args.rows
                for phase in PHASES:
                    seconds, written, ids = phase_run(cursor, table, phase, ids, args.batch, first)
                    times.setdefault((copy, phase), []).append(seconds)
                    wal.setdefault((copy, phase), []).append(written)
            first += args.rows
        for copy in COPIES:
            cursor.execute(f"DROP TABLE bench_invitation_{copy}")
    print("\n| phase | before: ms, WAL MB | after: ms, WAL MB | time before / after |")
    print("|---|---:|---:|---:|")
    for phase in PHASES:
        cells, medians = [], {}
        for copy in COPIES:
            medians[copy] = statistics.median(times[(copy, phase)])
            megabytes = statistics.median(wal[(copy, phase)]) / 1e6
            cells.append(f"{medians[copy] * 1000:,.0f}, {megabytes:,.1f}")
        ratio = medians["before"] / medians["after"]
        print(f"| {phase} ({args.rows:,} rows) | {cells[0]} | {cells[1]} | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
