"""Recompute the dashboard rollup tables from the raw rows, in spans of days
(nps.reporting.rebuild)."""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from nps.reporting.rebuild import rollups_rebuild


class Command(BaseCommand):
    help = "Rebuild the reporting rollups (default: every day with data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="end", type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument(
            "--jobs",
            type=int,
            default=1,
            help="spans of days recomputed at once on PostgreSQL (default 1; up to the "
            "database's cores)",
        )

    def handle(
        self, *args: Any, start: date | None, end: date | None, jobs: int, **options: Any
    ) -> None:
        if start and end and start > end:
            self.stderr.write("--from is after --to: nothing to do.")
            return
        if jobs < 1:
            raise CommandError("--jobs must be 1 or more.")
        days = rollups_rebuild(
            start=start,
            end=end,
            jobs=jobs,
            progress=lambda day: self.stdout.write(f"{day} rebuilt"),
        )
        self.stdout.write(self.style.SUCCESS(f"{days} day(s) rebuilt."))
