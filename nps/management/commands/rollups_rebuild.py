"""Recompute the dashboard rollup tables from the raw rows, day by day."""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from nps.reporting.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Rebuild the reporting rollups (default: every day with data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="end", type=date.fromisoformat, help="YYYY-MM-DD")

    def handle(self, *args: Any, start: date | None, end: date | None, **options: Any) -> None:
        if start and end and start > end:
            self.stderr.write("--from is after --to: nothing to do.")
            return
        days = rollups_rebuild(
            start=start, end=end, progress=lambda day: self.stdout.write(f"{day} rebuilt")
        )
        self.stdout.write(self.style.SUCCESS(f"{days} day(s) rebuilt."))
