"""Alert evaluation benchmark: every rule over every unit x touchpoint x reason from the
rollups, against the same evaluation computed from the raw rows, in the same run.

Loads N synthetic responses (default 10 million: bench/dashboard_data.py's data, each
interaction served by one of 900 stores of a unit tree, bench/alerts_data.py) into its own
PostgreSQL database, rebuilds the rollups of the days the rules read, then times:

- rollup: nps.alerts.rules_evaluate(...) figures for a set of typical rules (the
  evaluation without writing alerts), reading the rollup tables;
- naive: the same figures from responses joined to interactions and reasons, GROUP BY.

It checks both find the same conditions, prints both times, the ratio and whether the
targets hold (<= 2 s per full evaluation from the rollups, ratio >= 50).

    .venv/bin/python bench/alerts.py [--responses 10000000] [--reload] [--load-only]

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/bench_alerts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS, TARGET_RATIO = 2.0, 50.0
DAYS_READ = 60  # the rules below read at most the last 35 days


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
    from bench.alerts_measure import measure

    return measure(args, say)


if __name__ == "__main__":
    sys.exit(main())
