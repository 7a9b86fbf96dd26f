"""manage.py retention [--days N]: anonymise raw traffic and comments older than N days."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from surveys.retention import personal_data_anonymise


class Command(BaseCommand):
    help = "Anonymise raw messages, receipts and comments older than --days (scores stay)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=settings.NPS_RETENTION_DAYS)

    def handle(self, *args: Any, **options: Any) -> None:
        done = personal_data_anonymise(older_than_days=options["days"])
        self.stdout.write(
            f"Anonymised {done.inbound} inbound messages, {done.receipts} receipts, "
            f"{done.outbound} conversation messages, {done.comments} comments."
        )
