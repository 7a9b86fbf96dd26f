"""A rebuild of the rollups in spans of days (`rollups_rebuild`: consecutive days with
little data in one transaction, nps.reporting.rebuild.day_spans) against the same days
recomputed one at a time (`rollups_refresh_day` for each, as the rebuild did before),
side by side in one run.

The data: the demo's (`seed_demo`: about 3,200 interactions over 90 days) by default, or
`--responses N` answers over 400 days from bench/dashboard_data.py's generator (the
dashboard benchmark's shape). Each round rebuilds every day with data both ways, the
order swapped every round; after each way all six tables' rows are read and the two
ways' compared (they must be equal). Prints the median seconds of a whole rebuild each
way, the statements each sent, the spans, and the ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_rollup_spans \\
    .venv/bin/python bench/rollup_spans.py [--responses 200000] [--rounds 3]

The database name must contain "bench" (created and migrated if missing); the data is
loaded when the database has none, or again when --responses differs from what is there.
"""

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def all_rows() -> Counter[tuple[Any, ...]]:
    from nps.reporting.rollup_tables import ROLLUPS

    rows: Counter[tuple[Any, ...]] = Counter()
    for model in ROLLUPS:
        fields = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
        rows.update((model.__name__, *row) for row in model.objects.values_list(*fields))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=0, help="0: the demo's data")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_rollup_spans")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from bench.database import database_ready
    from nps.reporting import rebuild
    from nps.reporting.refresh import rollups_refresh_day, team_router
    from surveys.models import Response

    database_ready(settings.DATABASES["default"])
    have = Response.objects.count()
    if args.responses and have != args.responses:
        from bench.dashboard_data import data_load

        data_load(args.responses, lambda line: print(line, flush=True))
    elif not args.responses and not have:
        call_command("seed_demo", verbosity=0)
    rows = rebuild._day_rows()  # the days with data and their weights, as the rebuild reads them
    days = sorted(rows)
    spans = rebuild.day_spans(days, rows)

    def one_at_a_time() -> None:
        team = team_router()
        for day in days:
            rollups_refresh_day(day=day, team=team)

    ways = {"one day at a time": one_at_a_time, "spans": rebuild.rollups_rebuild}
    seconds: dict[str, list[float]] = {way: [] for way in ways}
    statements: dict[str, int] = {}
    rows: dict[str, Counter[tuple[Any, ...]]] = {}
    for number in range(args.rounds):
        order = list(ways) if number % 2 == 0 else list(reversed(ways))
        for way in order:
            sent = [0]

            def count(execute: Any, *args: Any, sent: list[int] = sent) -> Any:
                sent[0] += 1
                return execute(*args)

            with connection.execute_wrapper(count):
                started = time.perf_counter()
                ways[way]()
                seconds[way].append(time.perf_counter() - started)
            statements[way] = sent[0]
            rows[way] = all_rows()
        if rows["spans"] != rows["one day at a time"]:
            print("the two ways' rows differ", file=sys.stderr)
            return 1
    print(
        f"{Response.objects.count():,} answers; {len(days)} days with data in "
        f"{len(spans)} spans (SPAN_ROWS {rebuild.SPAN_ROWS:,}, SPAN_DAYS {rebuild.SPAN_DAYS}); "
        f"{args.rounds} rounds"
    )
    print("| way | median rebuild | statements |")
    print("|---|---:|---:|")
    for way, times in seconds.items():
        print(f"| {way} | {statistics.median(times):,.2f} s | {statements[way]:,} |")
    ratio = statistics.median(seconds["one day at a time"]) / statistics.median(seconds["spans"])
    print(
        f"one day at a time / spans: {ratio:.2f}x (the same {sum(rows['spans'].values()):,} rows)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
