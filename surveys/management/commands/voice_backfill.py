"""manage.py voice_backfill [--all] [--batch N]: classify stored comments into praise,
problems and suggestions (surveys.voice), in batches, one transaction each."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from surveys.voice import BATCH_SIZE, voices_backfill


class Command(BaseCommand):
    help = "Set the voice of the customer on stored responses (blank ones, or --all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=BATCH_SIZE)
        parser.add_argument("--all", action="store_true", help="Reclassify every comment.")

    def handle(self, *args: Any, batch: int, all: bool, **options: Any) -> None:
        changed = voices_backfill(batch_size=max(1, batch), only_blank=not all)
        self.stdout.write(f"{changed} responses classified.")
