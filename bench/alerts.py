"""Alert evaluation benchmark: every rule over every unit x touchpoint x reason from the
rollups, against the same evaluation computed from the raw rows, in the same run.

Loads N synthetic responses (default 10 million: bench/dashboard_data.py's data, each
interaction served by one of 900 stores of a unit tree, bench/alerts_data.py) into its own
PostgreSQL database, rebuilds the rollups of the days the rules read, then times:

- rollup: nps.alerts.rule_check for a set of typical rules (every place's figures and
  whether its condition holds, without writing alerts), reading the rollup tables;
- naive: the same figures from responses joined to interactions and reasons, GROUP BY.

It checks both find the same conditions, prints both times, the ratio and whether the
targets hold (<= 2 s per full evaluation from the rollups, ratio >= 50).

    .venv/bin/python bench/alerts.py [--responses 10000000] [--reload] [--load-only]

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/bench_alerts.
"""

from __future__ import annotations

# SQL text here is built from this module's constants only; values are bound parameters.
# ruff: noqa: S608
import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS, TARGET_RATIO = 2.0, 50.0
DAYS_READ = 35  # the rules below read at most the last 35 days (7 + a 28-day baseline)


def say(line: str) -> None:
    print(line, flush=True)


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_alerts")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def _rollups_build(jobs: int) -> None:
    from bench.dashboard import _vacuum_analyze
    from bench.dashboard_data import END_DAY
    from nps.reporting.rebuild import rollups_rebuild

    started = time.perf_counter()
    start = END_DAY - timedelta(days=DAYS_READ - 1)
    days = rollups_rebuild(start=start, end=END_DAY, jobs=jobs)
    say(f"rollups_rebuild({start}..{END_DAY}, jobs={jobs}): {days} days, "
        f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    _vacuum_analyze()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=10_000_000)
    parser.add_argument("--reload", action="store_true", help="load even if already loaded")
    parser.add_argument("--load-only", action="store_true", help="load and build the rollups")
    parser.add_argument("--skip-rebuild", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--naive-repeat", type=int, default=2)
    parser.add_argument(
        "--rollup-rules-only",
        action="store_true",
        help="leave out the SLA backlog rule (a live count of open cases on both sides)",
    )
    parser.add_argument(
        "--naive-warm-up", action="store_true", help="an untimed raw evaluation first"
    )
    args = parser.parse_args()
    _django()
    from django.conf import settings

    from bench.alerts_data import data_load
    from bench.dashboard_data import data_loaded
    from bench.database import database_ready

    database_ready(settings.DATABASES["default"])
    if args.reload or not data_loaded(args.responses):
        say(f"loading {args.responses:,} responses")
        timings = data_load(args.responses, say)
        say("load: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    else:
        say(f"already loaded: {args.responses:,} responses (--reload to load again)")
    if not args.skip_rebuild:
        _rollups_build(args.jobs)
    if args.load_only:
        return 0
    return measure(args)


# ---------------------------------------------------------------- the rules and both sides

RESPONSES = """surveys_response r JOIN surveys_interaction i ON i.id = r.interaction_id
    JOIN surveys_customer c ON c.id = r.customer_id
    JOIN surveys_invitation inv ON inv.id = r.invitation_id AND inv.purpose = 'survey'"""
COLUMNS = {"unit": "i.unit_id", "touchpoint": "i.touchpoint", "region": "c.region"}


def rules_create(*, live: bool = True) -> list[Any]:
    """A typical set: per unit, touchpoint and region; NPS, shares, every reason; the
    reason surge per unit once for each touchpoint (every unit x touchpoint x reason)."""
    from bench.dashboard_data import TOUCHPOINTS
    from nps.models import AlertKind as K
    from nps.models import AlertMetric as M
    from nps.models import AlertPer as P
    from nps.models import AlertRule

    AlertRule.objects.all().delete()
    specs: list[dict[str, Any]] = [
        {"kind": K.THRESHOLD, "metric": M.NPS, "per": P.UNIT, "threshold": 0.0},
        {"kind": K.DROP, "metric": M.NPS, "per": P.UNIT, "window_days": 7},
        {"kind": K.DROP, "metric": M.DETRACTOR_SHARE, "per": P.TOUCHPOINT, "window_days": 7,
         "baseline_days": 28},
        {"kind": K.DROP, "metric": M.DETRACTOR_SHARE, "per": P.REGION, "window_days": 7},
        {"kind": K.THRESHOLD, "metric": M.REASON_SHARE, "per": P.REGION, "threshold": 4.0},
        {"kind": K.THRESHOLD, "metric": M.REASON_COUNT, "per": P.UNIT, "threshold": 30.0},
        {"kind": K.SURGE, "metric": M.REASON_SHARE, "per": P.UNIT, "window_days": 7,
         "baseline_days": 28},
        {"kind": K.SURGE, "metric": M.REASON_SHARE, "per": P.TOUCHPOINT},
        # The SLA backlog is a live count of open cases, the same query on both sides.
        *([{"kind": K.SLA_BACKLOG, "metric": M.OVERDUE_CASES, "per": P.UNIT, "threshold": 5.0}]
          if live else []),
        *({"kind": K.SURGE, "metric": M.REASON_SHARE, "per": P.UNIT, "touchpoint": tp,
           "window_days": 7} for tp, _weight in TOUCHPOINTS),
    ]  # fmt: skip
    return [
        AlertRule.objects.create(name=f"bench {n}", min_sample=30, **spec)
        for n, spec in enumerate(specs)
    ]


def evaluation_rollup(rules: list[Any], today: date) -> dict[tuple[int, str], Any]:
    """Every rule's findings from the rollups (nps.alerts.rule_check: reads and judging)."""
    from nps.alerts import rule_check
    from surveys.units import children_by_parent

    tree = children_by_parent()
    found: dict[tuple[int, str], Any] = {}
    for rule in rules:
        _window, findings = rule_check(rule, today=today, tree=tree)
        found |= {(rule.pk, f.place): f for f in findings}
    return found


def evaluation_naive(rules: list[Any], today: date) -> dict[tuple[int, str], Any]:
    """The same findings with GROUP BY over the raw rows (the judging code is shared)."""
    from nps import alerts
    from surveys.units import children_by_parent

    tree = children_by_parent()
    found: dict[tuple[int, str], Any] = {}
    for rule in rules:
        window = alerts.Window.of(rule, today)
        figures = _naive_figures(rule, window)
        if rule.per == "unit":
            figures.nps = alerts.tree_sums(figures.nps, tree, rule.unit_id)
            figures.reasons = alerts.tree_sums(figures.reasons, tree, rule.unit_id)
            figures.overdue = alerts.tree_sums(figures.overdue, tree, rule.unit_id)
        found |= {(rule.pk, f.place): f for f in alerts.rule_findings(rule, figures)}
    return found


def _naive_figures(rule: Any, window: Any) -> Any:
    from django.db import connection

    from nps import alerts
    from nps.reporting.days import day_bounds

    figures = alerts.Figures()
    if rule.kind == "sla_backlog":
        figures.overdue = alerts._overdue_counts(rule, None)  # a live count on both sides
        return figures
    lo, _hi = day_bounds(window.base_start)
    start, hi = day_bounds(window.start, window.end)
    column = COLUMNS[rule.per]
    where, params = "r.created_at >= %s AND r.created_at < %s", [lo, hi]
    for name in ("touchpoint", "region"):
        if value := getattr(rule, name):
            where += f" AND {COLUMNS[name]} = %s"
            params.append(value)
    if rule.per == "unit":
        where += " AND i.unit_id IS NOT NULL"
    sums = ", ".join(
        f"count(*) FILTER (WHERE r.category = '{c}' AND r.created_at {op} %s)"
        for op in (">=", "<") for c in ("promoter", "passive", "detractor")
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column}, {sums} FROM {RESPONSES} WHERE {where} GROUP BY 1",
                       [*[start] * 6, *params])  # fmt: skip
        for value, *counts in cursor.fetchall():
            figures.nps[_naive_place(rule, value, None)] = np.array(counts)
        if rule.metric in ("reason_share", "reason_count"):
            cursor.execute(
                f"SELECT {column}, rr.category_id, "
                "count(*) FILTER (WHERE r.created_at >= %s), "
                "count(*) FILTER (WHERE r.created_at < %s) "
                f"FROM surveys_responsereason rr JOIN {RESPONSES} ON r.id = rr.response_id "
                f"WHERE r.category = 'detractor' AND {where} GROUP BY 1, 2",
                [start, start, *params],
            )
            for value, reason, now, before in cursor.fetchall():
                figures.reasons[_naive_place(rule, value, reason)] = np.array([now, before])
    return figures


def _naive_place(rule: Any, value: Any, reason: int | None) -> Any:
    from nps.alerts import Place

    return Place(
        unit_id=value if rule.per == "unit" else None,
        touchpoint=value if rule.per == "touchpoint" else "",
        region=value if rule.per == "region" else "",
        reason_id=reason,
    )


def _same(rolled: dict[Any, Any], naive: dict[Any, Any]) -> list[str]:
    problems = [f"{k} only from the rollups" for k in rolled.keys() - naive.keys()]
    problems += [f"{k} only from the raw rows" for k in naive.keys() - rolled.keys()]
    for key in rolled.keys() & naive.keys():
        a, b = rolled[key], naive[key]
        if a.holds != b.holds or a.sample != b.sample or abs(a.value - b.value) > 1e-9:
            problems.append(f"{key}: rollup {a} != naive {b}")
    return problems


def _timed(label: str, run: Any, repeat: int, warm_up: bool = True) -> tuple[list[float], Any]:
    """Seconds of each of `repeat` runs (after one untimed warm-up) and the last result."""
    result = run() if warm_up else None
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        runs.append(time.perf_counter() - started)
    runs.sort()
    say(f"  {label:40} n={repeat:2} median {runs[len(runs) // 2]:8.3f} s  max {runs[-1]:8.3f} s")
    return runs, result


def measure(args: argparse.Namespace) -> int:
    from bench.dashboard_data import END_DAY

    rules = rules_create(live=not args.rollup_rules_only)
    say(f"{len(rules)} rules, today = {END_DAY}")
    rolled_runs, rolled = _timed(
        "from the rollups (nps.alerts)", lambda: evaluation_rollup(rules, END_DAY), args.repeat
    )
    naive_runs, naive = _timed(
        "from the raw rows (GROUP BY)",
        lambda: evaluation_naive(rules, END_DAY),
        args.naive_repeat,
        warm_up=args.naive_warm_up,
    )
    held = sum(1 for f in rolled.values() if f.holds)
    say(f"  places judged: {len(rolled):,}; conditions that hold: {held:,}")
    problems = _same(rolled, naive)
    say(f"  both sides agree: {'yes' if not problems else 'NO'}")
    for problem in problems[:20]:
        print(f"DIFFERENT {problem}", file=sys.stderr)
    median = rolled_runs[len(rolled_runs) // 2]
    ratio = naive_runs[len(naive_runs) // 2] / median
    missed = "" if median <= TARGET_SECONDS else "  MISSED"
    say(f"  rollup evaluation median {median:.3f} s (target <= {TARGET_SECONDS:.0f} s){missed}")
    missed = "" if ratio >= TARGET_RATIO else "  MISSED"
    say(f"  ratio raw / rollup = {ratio:,.0f}x (target >= {TARGET_RATIO:.0f}x){missed}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
