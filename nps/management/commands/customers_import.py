"""manage.py customers_import FILE: the CRM's customer profile (ARPU, tier, preferences) from a CSV.

The columns and the rules are surveys/customers_import.py's. `--dry-run` validates and
counts without storing; `--errors OUT.csv` writes every refused row (row, field, message).
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.customers_import import ImportFileError, customers_import
from surveys.spreadsheets import SpreadsheetWriter


class Command(BaseCommand):
    help = "Import customers' profile (ARPU, its change, tier, region, preferences) from a CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV, UTF-8 or GB18030/GBK, first row names")
        parser.add_argument("--dry-run", action="store_true", help="validate and count only")
        parser.add_argument("--errors", type=Path, help="write refused rows to this CSV")

    def handle(
        self, *args: Any, file: Path, dry_run: bool, errors: Path | None, **options: Any
    ) -> None:
        try:
            result = customers_import(file.read_bytes(), dry_run=dry_run)
        except (OSError, ImportFileError) as exc:
            raise CommandError(str(exc)) from exc
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            f"{result.created} new and {result.updated} known customers {verb} imported; "
            f"{result.failed_rows} row(s) refused."
        )
        for error in result.errors[:20]:
            self.stdout.write(f"  row {error.row}, {error.field}: {error.message}")
        if errors is not None:
            with errors.open("w", encoding="utf-8-sig", newline="") as out:
                writer = SpreadsheetWriter(out)
                writer.writerow(("row", "field", "message"))
                writer.writerows((e.row, e.field, e.message) for e in result.errors)
            self.stdout.write(f"Refused rows written to {errors}.")
        if result.failed_rows:
            raise CommandError(f"{result.failed_rows} row(s) refused.", returncode=2)
