"""manage.py retention [--days N]: anonymise personal data older than N days, in both apps.

It lives in nps because it covers surveys and followups (surveys never imports followups);
the rules are in surveys/retention.py and followups/retention.py. Which customers are past
the age: docs/architecture.md, "Personal data".
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from followups.retention import cases_anonymise, customers_without_case_activity
from surveys.retention import customers_anonymise, customers_inactive, surveys_rows_anonymise


class Command(BaseCommand):
    help = "Anonymise personal data older than --days (scores, categories and counts stay)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=settings.NPS_RETENTION_DAYS)

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        if days < 1:
            raise CommandError(f"--days must be 1 or more (got {days}): it is an age, not a date.")
        before = timezone.now() - timedelta(days=days)
        done = surveys_rows_anonymise(before=before) | cases_anonymise(before=before)
        quiet = customers_without_case_activity(customers_inactive(before=before), before=before)
        done["customers"] = customers_anonymise(customers=quiet)
        self.stdout.write(", ".join(f"{n} {kind}" for kind, n in done.items()) + " anonymised.")
