"""Score every customer with the risk model in use now (the daily task does the same)."""

from typing import Any

from django.core.management.base import BaseCommand

from care.risk import risk_score_all


class Command(BaseCommand):
    help = "Score every customer with the risk model in use and update the potential members."

    def handle(self, *args: Any, **options: Any) -> None:
        scored = risk_score_all()
        if scored:
            self.stdout.write(self.style.SUCCESS(f"{scored} customers scored."))
        else:
            self.stdout.write(self.style.WARNING("No model in use: nobody scored."))
