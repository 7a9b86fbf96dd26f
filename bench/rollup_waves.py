"""A day's rollups refreshed with the coarser grains in waves (one INSERT per wave, the
product's `insert_coarser_grains`) against one INSERT per grain (the form it replaced,
kept here as the baseline), side by side in one run.

On the demo's data (`seed_demo`: about 3,200 interactions over 90 days, the first run
seeds it), each of the `--days` latest days is refreshed with `rollups_refresh_day`, the
rollup task's body, once each way in turn (the order swapped every day), `--rounds`
times; then, as a check, both ways' rows of one day compared. Prints the median seconds
a day each way, the statements each sent and the ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_rollup_waves \\
    .venv/bin/python bench/rollup_waves.py [--days 30] [--rounds 3]

The database name must contain "bench" (created and migrated if missing).
"""

import argparse
import os
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def per_grain(model: Any, *, first: date, last: date, keep: tuple[str, ...] = ()) -> None:
    """The baseline: each coarser grain its own INSERT, in build order (one day)."""
    from django.db import connection, models

    from nps.models import DIMENSION_FIELDS, INT_DIMENSIONS
    from nps.reporting.grains import BUILD_ORDER, FULL, fields_of, parent_of

    if first != last:
        raise ValueError("the baseline refreshes a single day")
    day = first
    quote = connection.ops.quote_name
    table = model._meta.db_table
    columns = {f.name: f.column for f in model._meta.concrete_fields}
    counts = [
        quote(f.column)
        for f in model._meta.concrete_fields
        if isinstance(f, models.PositiveIntegerField | models.PositiveBigIntegerField)
    ]
    dims = (*DIMENSION_FIELDS, *keep)
    names = [quote(columns[name]) for name in dims]
    target = ", ".join(["grain", "day", *names, *counts])
    sums = ", ".join(f"SUM({c})" for c in counts)
    for grain in BUILD_ORDER:
        if grain == FULL:
            continue
        kept = set(fields_of(grain)) | set(keep)
        selected = [
            column if name in kept else ("0" if name in INT_DIMENSIONS else "''")
            for name, column in zip(dims, names, strict=True)
        ]
        grouped = [column for name, column in zip(dims, names, strict=True) if name in kept]
        group = f" GROUP BY {', '.join(grouped)}" if grouped else " HAVING COUNT(*) > 0"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({target}) SELECT %s, %s, {', '.join(selected)}, "  # noqa: S608
                f"{sums} FROM {table} WHERE grain = %s AND day = %s{group}",
                [grain, day, parent_of(grain), day],
            )


@contextmanager
def baseline() -> Any:
    from nps.reporting import rollup_tables

    product = rollup_tables.insert_coarser_grains
    rollup_tables.insert_coarser_grains = per_grain  # type: ignore[assignment]
    try:
        yield
    finally:
        rollup_tables.insert_coarser_grains = product


def day_rows(day: date) -> list[Any]:
    from django.forms.models import model_to_dict

    from nps.reporting.rollup_tables import ROLLUPS

    return sorted(
        repr(sorted(model_to_dict(row, exclude=["id"]).items()))
        for model in ROLLUPS
        for row in model.objects.filter(day=day)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_rollup_waves")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from bench.database import database_ready
    from nps.reporting.days import local_today
    from nps.reporting.refresh import rollups_refresh_day, team_router
    from surveys.models import Interaction

    database_ready(settings.DATABASES["default"])
    if not Interaction.objects.exists():
        call_command("seed_demo", verbosity=0)
    team = team_router()
    days = [local_today() - timedelta(days=n) for n in range(1, args.days + 1)]
    seconds: dict[str, list[float]] = {"waves": [], "per grain": []}
    statements: dict[str, int] = {}
    for number in range(args.rounds * len(days)):
        day = days[number % len(days)]
        ways = ("waves", "per grain") if number % 2 == 0 else ("per grain", "waves")
        for way in ways:
            reset_queries()  # the log keeps 9,000: a full log would capture nothing
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                if way == "waves":
                    rollups_refresh_day(day=day, team=team)
                else:
                    with baseline():
                        rollups_refresh_day(day=day, team=team)
                seconds[way].append(time.perf_counter() - started)
            statements[way] = len(queries)
    check = days[0]
    rollups_refresh_day(day=check, team=team)
    waves = day_rows(check)
    with baseline():
        rollups_refresh_day(day=check, team=team)
    if day_rows(check) != waves:
        print(f"the two ways' rows of {check} differ", file=sys.stderr)
        return 1
    print(f"{Interaction.objects.count():,} interactions; {len(days)} days x {args.rounds} rounds")
    print("| way | median a day | statements a day |")
    print("|---|---:|---:|")
    for way, times in seconds.items():
        print(f"| {way} | {statistics.median(times) * 1000:,.0f} ms | {statements[way]} |")
    ratio = statistics.median(seconds["per grain"]) / statistics.median(seconds["waves"])
    print(f"per grain / waves: {ratio:.2f}x (the same {len(waves):,} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
