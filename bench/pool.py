"""Pool benchmark: scoring every customer set-based against a per-customer loop.

Loads N customers (default 1,000,000) with 12 interactions each on average (12,000,000),
plus answers to about one interaction in 60 of the last 70 days (with a known signal:
a falling ARPU and complaints make a detractor likelier) and a case for some detractors,
into its own PostgreSQL database with INSERT ... SELECT FROM generate_series. Trains a
risk model (care.risk.risk_train, not timed), then times in the same run:

- set-based: care.risk.risk_score_all, the production path: every customer's features in
  one SQL query streamed in chunks, scores with numpy, the scores upserted through COPY,
  the potential pool members entered and left in set-based writes;
- loop: the same work one customer at a time for a random sample (default 2,000): the
  customer's rows read with the ORM (customer, interactions, answers, invitations,
  cases), features and score in Python, the score upserted and the pool stay checked and
  written; per customer, extrapolated to N. It runs inside a transaction rolled back at
  the end, and checks its scores against the set-based ones.

Prints both, the ratio, and whether the targets hold (>= 20x, <= 60 s at 1 million).

    .venv/bin/python bench/pool.py [--customers 1000000] [--reload] [--sample 2000]

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/nps_pool_bench; its name must
contain "bench" (the loaded tables are truncated).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 1, tzinfo=UTC)
INTERACTIONS_PER_CUSTOMER = 12
DAYS = 120  # interactions over the 120 days before NOW
TOUCHPOINTS = (
    *("store_own", "store_partner", "store_agent", "hotline"),
    *("account_manager", "online", "self_service"),
)
REGIONS = ("GD", "SZ", "GZ", "FS", "DG", "ZH", "ST", "HZ", "JM", "ZQ", "QY", "MZ")
TARGET_RATIO, TARGET_SECONDS = 20.0, 60.0


def say(line: str) -> None:
    print(line, flush=True)


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nps_pool_bench")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


# ---------------------------------------------------------------- loading


def _defaults(model: Any, given: dict[str, str]) -> tuple[str, str]:
    """Column list and SELECT expressions: `given`, else the field's default, NULL or ''."""
    columns, exprs = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in given:
            continue
        columns.append(field.column)
        if field.column in given:
            exprs.append(given[field.column])
        elif field.has_default():
            value = field.get_default()
            if isinstance(value, bool):
                exprs.append("true" if value else "false")
            elif isinstance(value, timedelta):
                exprs.append("interval '0'")
            elif isinstance(value, int | float):
                exprs.append(str(value))
            elif isinstance(value, list | dict):
                exprs.append("'[]'::jsonb" if isinstance(value, list) else "'{}'::jsonb")
            else:
                exprs.append("'" + str(value).replace("'", "''") + "'")
        elif field.null:
            exprs.append("NULL")
        else:
            exprs.append("''")
    return ", ".join(columns), ", ".join(exprs)


def _insert(cursor: Any, model: Any, given: dict[str, str], source: str, params: list[Any]) -> None:
    columns, exprs = _defaults(model, given)
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({columns}) SELECT {exprs} {source}", params
    )


def _indexes_drop(cursor: Any, table: str) -> list[str]:
    """Drop a table's indexes and unique constraints but its primary key; return how to
    make them again (12 million rows load and index far faster in that order)."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'u'",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
        " AND indexname <> %s AND NOT indexname = ANY(%s)",
        [table, f"{table}_pkey", [name for name, _d in constraints]],
    )
    indexes = cursor.fetchall()
    for name, _definition in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return [
        *(f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, d in constraints),
        *(definition for _n, definition in indexes),
    ]


def data_load(customers: int) -> dict[str, float]:
    from django.db import connection

    from care.models import PoolMember, RiskModel, RiskScore
    from followups.models import Case
    from surveys.models import Customer, Interaction, Invitation, Response

    timings: dict[str, float] = {}
    tables = [m._meta.db_table for m in (PoolMember, RiskScore, RiskModel, Case)]
    tables += [m._meta.db_table for m in (Response, Invitation, Interaction, Customer)]
    now = NOW
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        cursor.execute("SELECT setseed(0.42)")
        # The rows are made consistent here: no foreign-key trigger per row (12 million).
        cursor.execute("SET session_replication_role = replica")
        start = time.perf_counter()
        # d: hidden discontent, about N(0, 1) (sum of 4 uniforms, centred and scaled).
        _insert(
            cursor,
            Customer,
            {
                "id": "g",
                "phone": "'+86138' || lpad(g::text, 8, '0')",
                "tier": "(ARRAY['A','B','C','C'])[1 + g %% 4]",
                "arpu": "round((30 + random() * 250)::numeric, 2)",
                "arpu_trend_yuan": "round((-25 * d + 10 * (random() - 0.5))::numeric, 2)",
                "region": f"(ARRAY{list(REGIONS)!r})[1 + g %% {len(REGIONS)}]",
                "time_zone": "'Asia/Shanghai'",
                "created_at": "%s - (random() * 2000) * interval '1 day'",
                "updated_at": "%s",
            },
            "FROM (SELECT g, (random() + random() + random() + random() - 2) * 1.732 AS d"
            " FROM generate_series(1, %s) g) s",
            [now, now, customers],
        )
        timings["customers"] = time.perf_counter() - start
        start = time.perf_counter()
        restore = _indexes_drop(cursor, Interaction._meta.db_table)
        n = customers * INTERACTIONS_PER_CUSTOMER
        tps = f"ARRAY{list(TOUCHPOINTS)!r}"
        _insert(
            cursor,
            Interaction,
            {
                "id": "g",
                "external_id": "'B' || g",
                "customer_id": "c.id",
                "touchpoint": f"({tps})[1 + floor(random() * 7)::int]",
                # about 3% complaints, more for a customer whose ARPU falls
                "kind": "CASE WHEN random() < 0.03 * exp(-c.arpu_trend_yuan / 30.0)"
                " THEN 'complaint' ELSE 'service' END",
                "occurred_at": f"%s - (random() * {DAYS}) * interval '1 day'",
                "created_at": "%s",
            },
            "FROM generate_series(1, %s) g"
            " JOIN surveys_customer c ON c.id = 1 + (hashint4(g) & 2147483647) %% %s",
            [now, now, n, customers],
        )
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for statement in restore:
            cursor.execute(statement)
        timings["interactions"] = time.perf_counter() - start
        start = time.perf_counter()
        sent = "i.occurred_at + interval '1 hour'"
        _insert(
            cursor,
            Invitation,
            {
                "id": "i.id",
                "interaction_id": "i.id",
                "customer_id": "i.customer_id",
                "status": "'responded'",
                "sent_at": sent,
                "expires_at": f"{sent} + interval '2 days'",
                "responded_at": f"{sent} + interval '1 hour'",
                "created_at": sent,
            },
            "FROM surveys_interaction i WHERE i.id %% 60 = 0"
            " AND i.occurred_at >= %s - interval '70 days'"
            " AND i.occurred_at < %s - interval '3 hours'",
            [now, now],
        )
        # A detractor with probability sigmoid(-1.2 - trend / 20 + 0.8 complaint).
        _insert(
            cursor,
            Response,
            {
                "id": "v.id",
                "invitation_id": "v.id",
                "customer_id": "v.customer_id",
                "interaction_id": "v.interaction_id",
                "score": "s.score",
                "category": "CASE WHEN s.score >= 9 THEN 'promoter'"
                " WHEN s.score >= 7 THEN 'passive' ELSE 'detractor' END",
                "created_at": "v.responded_at",
                "updated_at": "v.responded_at",
            },
            "FROM surveys_invitation v JOIN LATERAL (SELECT CASE WHEN random() <"
            " 1 / (1 + exp(1.2 + c.arpu_trend_yuan / 20.0"
            " - CASE WHEN i.kind = 'complaint' THEN 0.8 ELSE 0 END))"
            " THEN floor(random() * 7)::int ELSE 7 + floor(random() * 4)::int END AS score"
            " FROM surveys_customer c, surveys_interaction i"
            " WHERE c.id = v.customer_id AND i.id = v.interaction_id) s ON true",
            [],
        )
        _insert(
            cursor,
            Case,
            {
                "response_id": "r.id",
                "customer_id": "r.customer_id",
                "priority": "'P2'",
                "status": "CASE WHEN r.id %% 3 = 0 THEN 'new' ELSE 'resolved' END",
                "opened_at": "r.created_at",
                "sla_due_at": "r.created_at + interval '1 day'",
                "resolved_at": "CASE WHEN r.id %% 3 = 0 THEN NULL"
                " ELSE r.created_at + interval '2 days' END",
            },
            "FROM surveys_response r WHERE r.score <= 6 AND r.id %% 2 = 0",
            [],
        )
        timings["answers and cases"] = time.perf_counter() - start
        cursor.execute("RESET session_replication_role")
        start = time.perf_counter()
        for table in tables:
            cursor.execute(f"ANALYZE {table}")
        timings["analyze"] = time.perf_counter() - start
    return timings


def data_loaded(customers: int) -> bool:
    from surveys.models import Customer, Interaction

    return (
        Customer.objects.count() == customers
        and Interaction.objects.count() == customers * INTERACTIONS_PER_CUSTOMER
    )


# ---------------------------------------------------------------- the per-customer loop


class Loop:
    """One customer at a time: the ORM's reads, Python's arithmetic, one write each."""

    def __init__(self, params: dict[str, Any], model: Any, cut: float) -> None:
        from care.features import _recent_nps
        from surveys.models import Response

        self.params, self.model, self.cut = params, model, cut
        self.overall, self.tp_nps = _recent_nps(NOW)
        by_region: dict[str, list[int]] = {}
        recent = Response.objects.filter(
            created_at__gte=NOW - timedelta(days=90), created_at__lt=NOW
        ).values_list("customer__region", "score")
        for region, score in recent.iterator(chunk_size=20_000):
            by_region.setdefault(region, []).append(score)
        self.region_nps = {
            r: 100 * (sum(s >= 9 for s in v) - sum(s <= 6 for s in v)) / len(v)
            for r, v in by_region.items()
        }

    def features(self, customer_id: int) -> list[float]:
        from care.features import LAST_DAYS_CAP, NO_ANSWER_SCORE, TOUCHPOINTS
        from followups.models import Case
        from surveys.models import Customer, Interaction, Invitation, Response

        c = Customer.objects.get(pk=customer_id)
        seen = Interaction.objects.filter(
            customer_id=customer_id,
            occurred_at__gte=NOW - timedelta(days=365),
            occurred_at__lt=NOW,
        ).values_list("touchpoint", "kind", "occurred_at")
        ago = [(tp, kind, (NOW - at).total_seconds() / 86400) for tp, kind, at in seen]
        v30 = [sum(1 for tp, _k, a in ago if tp == t and a <= 30) for t in TOUCHPOINTS]
        v90 = [sum(1 for tp, _k, a in ago if tp == t and a <= 90) for t in TOUCHPOINTS]
        scores = list(
            Response.objects.filter(customer_id=customer_id, created_at__lt=NOW)
            .order_by("created_at", "id")
            .values_list("score", flat=True)
        )
        unanswered = (
            Invitation.objects.filter(customer_id=customer_id, sent_at__lt=NOW, expires_at__lte=NOW)
            .exclude(responded_at__lt=NOW)
            .count()
        )
        cases = list(
            Case.objects.filter(
                customer_id=customer_id, opened_at__lt=NOW, closed_by_correction=False
            ).values_list("status", "resolved_at")
        )
        seen_90 = sum(v90)
        tp_nps = (
            sum(n * self.tp_nps.get(t, self.overall) for n, t in zip(v90, TOUCHPOINTS, strict=True))
            / seen_90
            if seen_90
            else self.overall
        )
        last = scores[-1] if scores else None
        return [
            *v30,
            *v90,
            sum(1 for _t, _k, a in ago if a <= 7),
            sum(1 for _t, k, a in ago if k == "complaint" and a <= 90),
            min(LAST_DAYS_CAP, min((a for _t, _k, a in ago), default=LAST_DAYS_CAP)),
            float(c.arpu or 0),
            float(c.arpu_trend_yuan or 0),
            *(float(c.tier == t) for t in "ABC"),
            max(0.0, (NOW - c.created_at).total_seconds() / 86400),
            tp_nps,
            self.region_nps.get(c.region, self.overall),
            len(scores),
            sum(scores) / len(scores) if scores else NO_ANSWER_SCORE,
            last if last is not None else NO_ANSWER_SCORE,
            float(last is not None and last <= 6),
            float(any(s <= 6 for s in scores)),
            unanswered,
            len(cases),
            sum(1 for st, res in cases if st == "unreachable" or res is None or res >= NOW),
        ]

    def score(self, customer_id: int) -> float:
        from care.models import EntryReason, MemberKind, PoolMember, RiskScore

        row = self.features(customer_id)
        p = self.params
        logit = p["intercept"] + sum(
            w * (x - m) / s
            for w, x, m, s in zip(p["coef"], row, p["means"], p["scales"], strict=True)
        )
        risk = 1 / (1 + math.exp(-logit))
        RiskScore.objects.update_or_create(
            customer_id=customer_id,
            defaults={"risk_model": self.model, "score": risk, "scored_at": NOW},
        )
        stay = PoolMember.objects.filter(
            customer_id=customer_id, reason=EntryReason.MODEL, left_at__isnull=True
        ).first()
        if risk >= self.cut and stay is None:
            PoolMember.objects.create(
                customer_id=customer_id,
                kind=MemberKind.POTENTIAL,
                reason=EntryReason.MODEL,
                entered_at=NOW,
                risk=risk,
                risk_model=self.model,
            )
        elif risk < self.cut and stay is not None:
            PoolMember.objects.filter(pk=stay.pk).update(left_at=NOW, exit_reason="risk_fell")
        return risk


# ---------------------------------------------------------------- measuring


class _CpuClock:
    """CPU seconds of this process and of its database backends (same machine), per lap.

    On a shared machine the wall time depends on the others' load; CPU time does not.
    Every connection opened meanwhile (the features query's parallel parts open their own)
    is counted: a thread reads each backend's CPU time every SAMPLE seconds while it lives,
    so a backend's last SAMPLE seconds before it closes may be missed.
    """

    SAMPLE = 0.05

    def __init__(self) -> None:
        from django.db import connection
        from django.db.backends.signals import connection_created

        self.base: dict[int, float] = {}  # each backend's CPU seconds when first seen
        self.latest: dict[int, float] = {}  # and when last read
        self.lock = threading.Lock()
        connection_created.connect(self._created, weak=False)
        self._created(connection)
        self.stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()
        self.last = self._now()

    def _created(self, connection: Any, **_kwargs: Any) -> None:
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        cpu = self._backend(pid) or 0.0
        with self.lock:
            if pid not in self.base:
                self.base[pid] = self.latest[pid] = cpu

    @staticmethod
    def _backend(pid: int) -> float | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _sample(self) -> None:
        while not self.stop.wait(self.SAMPLE):
            self._refresh()

    def _refresh(self) -> float:
        """The CPU seconds of every backend seen, since it was first seen."""
        with self.lock:
            for pid in self.base:
                now = self._backend(pid)
                if now is not None and now >= self.latest[pid]:
                    self.latest[pid] = now
            return sum(self.latest[pid] - self.base[pid] for pid in self.base)

    def _now(self) -> tuple[float, float]:
        return time.process_time(), self._refresh()

    def lap(self) -> str:
        now = self._now()
        python, database = now[0] - self.last[0], now[1] - self.last[1]
        self.last = now
        return f"CPU: Python {python:.1f} s, PostgreSQL {database:.1f} s"


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2_000, help="customers in the loop")
    parser.add_argument("--reload", action="store_true", help="load even if already loaded")
    parser.add_argument("--keep-model", action="store_true", help="the version in use, if any")
    args = parser.parse_args()
    _django()
    from django.conf import settings
    from django.db import connection, transaction

    from bench.database import database_ready
    from care import risk
    from care.models import PoolMember, RiskModel, RiskScore

    database_ready(settings.DATABASES["default"])
    if args.reload or not data_loaded(args.customers):
        say(f"loading {args.customers:,} customers, {args.customers * 12:,} interactions")
        timings = data_load(args.customers)
        say("load: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    else:
        say(f"already loaded: {args.customers:,} customers (--reload to load again)")
    # Emptied, not deleted row by row: a million dead rows left by each earlier run would
    # make the next run's writes slower and slower (a table scored daily is vacuumed).
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {PoolMember._meta.db_table}, {RiskScore._meta.db_table}")
    model = RiskModel.objects.filter(is_active=True).first() if args.keep_model else None
    seconds, model = _timed(lambda: model or risk.risk_train(now=NOW))
    say(
        f"model #{model.pk}, trained in {seconds:.1f} s (0: kept; not timed below):"
        f" {model.train_size:,} / "
        f"{model.validation_size:,} customers, AUC {model.auc:.3f} (rule {model.rule_auc:.3f}),"
        f" top 5% {model.precision_top5:.3f} (rule {model.rule_precision_top5:.3f}),"
        f" signal {model.has_signal}"
    )
    if not model.has_signal:
        say("no signal: nothing to score")
        return 1
    cpu = _CpuClock()
    set_seconds, scored = _timed(lambda: risk.risk_score_all(now=NOW))
    entered = PoolMember.objects.filter(left_at__isnull=True).count()
    say(
        f"set-based: {scored:,} customers scored in {set_seconds:.1f} s, {entered:,} entered"
        f" ({cpu.lap()})"
    )
    # Again, with everyone scored and in: the daily run's usual case.
    again, _n = _timed(lambda: risk.risk_score_all(now=NOW))
    say(f"set-based again (scores updated, stays kept): {again:.1f} s ({cpu.lap()})")

    cut = min(PoolMember.objects.filter(left_at__isnull=True).values_list("risk", flat=True))
    stored = dict(RiskScore.objects.values_list("customer_id", "score").iterator(20_000))
    sample = random.Random(1).sample(sorted(stored), min(args.sample, len(stored)))
    loop = Loop(model.parameters, model, cut)
    worst = 0.0
    with transaction.atomic():
        start = time.perf_counter()
        for customer_id in sample:
            worst = max(worst, abs(loop.score(customer_id) - stored[customer_id]))
        loop_seconds = time.perf_counter() - start
        transaction.set_rollback(True)
    per_customer = loop_seconds / len(sample)
    extrapolated = per_customer * scored
    ratio = extrapolated / set_seconds
    say(
        f"loop: {len(sample):,} customers in {loop_seconds:.1f} s, {per_customer * 1000:.2f} ms"
        f" each, {extrapolated:,.0f} s for {scored:,} (largest score difference {worst:.2e})"
    )
    say(f"ratio loop / set-based: {ratio:.0f}x")
    ok = ratio >= TARGET_RATIO and (scored < 1_000_000 or set_seconds <= TARGET_SECONDS)
    say(
        f"targets: ratio >= {TARGET_RATIO:.0f}x {'met' if ratio >= TARGET_RATIO else 'MISSED'}; "
        f"<= {TARGET_SECONDS:.0f} s at 1 million "
        f"{'met' if set_seconds <= TARGET_SECONDS else 'MISSED'}"
    )
    return 0 if ok and worst < 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
