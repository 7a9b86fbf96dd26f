"""manage.py import_interactions FILE: interactions from a CSV or .xlsx, as the admin imports them.

The columns are mapped as the admin's upload page detects them, or by `--mapping COLUMN=FIELD`
(repeatable; then only those columns). `--dry-run` validates and counts without storing. A
progress bar is drawn on stderr; refused rows are written to a CSV whose path is printed.
"""

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.importfiles import ImportFileError, file_header
from surveys.interactions_import import interactions_import_run, mapping_detect
from surveys.models import ImportStatus, InteractionImport

BAR = 30


def progress_bar(job: InteractionImport) -> str:
    """One terminal line: the bar (when the size is known), rows done and the rate."""
    total = max(job.rows_total or 0, job.rows_done)
    share = job.rows_done / total if total else 0.0
    filled = int(BAR * share)
    return (
        f"\r[{'#' * filled}{'.' * (BAR - filled)}] {share:4.0%} {job.rows_done:,} rows "
        f"{job.rate:,.0f}/s, {job.rows_added:,} added, {job.rows_skipped:,} already there, "
        f"{job.rows_failed:,} refused"
    )


class Command(BaseCommand):
    help = "Import interactions from a CSV (UTF-8 or GBK/GB18030) or Excel (.xlsx) file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--mapping", action="append", default=[], metavar="COLUMN=FIELD",
            help="file column to interaction field, e.g. 手机号=customer.phone (repeatable)",
        )  # fmt: skip
        parser.add_argument("--dry-run", action="store_true", help="validate and count only")
        parser.add_argument("--quiet-bar", action="store_true", help="no progress bar")

    def handle(
        self, *args: Any, file: Path, mapping: list[str], dry_run: bool, **options: Any
    ) -> None:
        try:
            columns = dict(item.split("=", 1) for item in mapping) if mapping else None
            if columns is None:
                columns = mapping_detect(file_header(file))
        except (OSError, ImportFileError, ValueError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        job = InteractionImport.objects.create(
            file=str(file.resolve()), filename=file.name, mapping=columns, dry_run=dry_run
        )

        def bar(job: InteractionImport) -> None:
            sys.stderr.write(progress_bar(job))

        quiet = options["quiet_bar"]
        job = interactions_import_run(job_id=job.pk, progress=None if quiet else bar)
        if not quiet:
            sys.stderr.write("\n")
        if job.status == ImportStatus.FAILED:
            raise CommandError(job.message)
        verb = "would be added" if dry_run else "added"
        self.stdout.write(
            f"{job.rows_done} rows: {job.rows_added} {verb}, {job.rows_skipped} already there, "
            f"{job.rows_failed} refused ({job.rate:.0f} rows/s)."
        )
        if job.rows_failed:
            self.stdout.write(f"Refused rows: {job.errors_file}")
