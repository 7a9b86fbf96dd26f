"""Interaction import benchmark: a file of N rows imported, against a plain COPY of that file.

Writes N interactions (default 1 million) to a UTF-8 CSV as a store's export would hold
them (CRM id, phone, name, touchpoint, channel, store id, staff id, local time), then in
the same run:
- COPY: the file as it is into a bare table of text columns (PostgreSQL's own ceiling);
- import: the file through surveys/interactions_import.py as the Celery task runs it
  (the file's lines COPYed into a raw table, the common shape validated in SQL and the
  rest by the API serializer, set-based inserts; then every recorded interaction's survey
  planned by the dispatch rule), into emptied interaction tables;
- re-run: the same file again, which must add nothing.
It prints rows/s for each, the ratio import/COPY, and the process's peak memory (RSS).
The ratio counts the recording: the file read, checked and its customers and
interactions stored, refused rows written (the job's last chunk); the planning of the
surveys that follows in the same task is timed and printed apart, and so is the whole
(recorded and planned). Targets: ratio >= 0.1, peak memory <= 300 MB.

One active survey waits six hours after the interaction, and the rows occurred in the 50
minutes before the file was written, so every planned invitation is scheduled for later
and nothing is queued to a broker (sending is bench/dispatch.py's). Half the customers
appear twice: the second of their interactions is suppressed by the fatigue rule, which
reads the first.

    .venv/bin/python bench/import.py [--rows 1000000] [--keep-file] [--file F [--write-only]]

(--file: the file is written once, outside a timed run, and read by the next; --rows must
give its row count.)

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/bench_import; its name must
contain "bench" (the customer and interaction tables are truncated).
"""

# SQL text here is built from this module's constants and model table names only.

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO, TARGET_MB = 0.1, 300.0
HEADER = ("工单号", "手机号", "客户姓名", "触点", "渠道", "网点编码", "工号", "发生时间")
TOUCHPOINTS = ("store_own", "store_partner", "store_agent", "hotline", "online")


def say(line: str) -> None:
    print(line, flush=True)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_import")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def file_write(path: Path, rows: int) -> None:
    """N rows, written as they are made (the file, not the list, holds them)."""
    from surveys.spreadsheets import SpreadsheetWriter

    local = datetime.now(UTC) + timedelta(hours=8)  # the export's clock: Asia/Shanghai
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = SpreadsheetWriter(out)
        writer.writerow(HEADER)
        for n in range(rows):
            when = local - timedelta(seconds=60 + (n * 2999) % 3000)  # within 50 minutes
            writer.writerow((
                f"B-{n:09d}", f"138{n % (rows // 2 or 1):08d}", f"客户{n % 1000}",
                TOUCHPOINTS[n % len(TOUCHPOINTS)], "门店", f"XN-{n % 400:03d}", f"E{n % 5000}",
                when.strftime("%Y-%m-%d %H:%M:%S"),
            ))  # fmt: skip


def copy_plain(path: Path) -> float:
    """Seconds for COPY of the file into a bare table of text columns."""
    from django.db import connection

    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_import_plain")
        cursor.execute(f"CREATE TABLE bench_import_plain ({columns})")
        started = time.perf_counter()
        with (
            cursor.copy("COPY bench_import_plain FROM STDIN (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as source,
        ):
            while block := source.read(1 << 20):
                copy.write(block)
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_import_plain")
        loaded = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_import_plain")
    say(f"COPY: {loaded:,} rows in {seconds:.1f} s")
    return seconds


def tables_empty() -> None:
    from django.db import connection

    from surveys.models import Customer, InteractionImport, Survey

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Customer._meta.db_table} CASCADE")
        cursor.execute(f"TRUNCATE {InteractionImport._meta.db_table}")
        cursor.execute(f"TRUNCATE {Survey._meta.db_table} CASCADE")
    Survey.objects.create(name="bench", delay_minutes=6 * 60, is_active=True)


def import_timed(path: Path, label: str) -> tuple[float, float, object]:
    """(seconds to the file recorded, seconds in all, the job): the recording ends with the
    last chunk's progress call, the planning of the recorded interactions' surveys follows."""
    from surveys.importfiles import file_header
    from surveys.interactions_import import interactions_import_run, mapping_detect
    from surveys.models import InteractionImport

    job = InteractionImport.objects.create(
        file=str(path), filename=path.name, mapping=mapping_detect(file_header(path))
    )
    last, recorded = [0.0], [0.0]

    def progress(job: InteractionImport) -> None:
        recorded[0] = time.perf_counter()
        if time.monotonic() - last[0] > 30:
            last[0] = time.monotonic()
            say(f"  {label}: {job.rows_done:,} rows, {job.rate:,.0f}/s, {peak_mb():.0f} MB peak")

    started = time.perf_counter()
    done = interactions_import_run(job_id=job.pk, progress=progress)
    finished = time.perf_counter()
    record, seconds = recorded[0] - started, finished - started
    say(
        f"{label}: {done.rows_done:,} rows recorded in {record:.1f} s, surveys planned "
        f"{seconds - record:.1f} s later: {done.rows_added:,} added, "
        f"{done.rows_skipped:,} already there, {done.rows_failed:,} refused ({done.status})"
    )
    return record, seconds, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep-file", action="store_true")
    parser.add_argument(
        "--file", type=Path, help="the CSV to use: written there first (and kept) if missing"
    )
    parser.add_argument("--write-only", action="store_true", help="write --file, then stop")
    parser.add_argument(
        "--without-care-pool",
        action="store_true",
        help="diagnosis only: disconnect care's pool receivers on new interactions",
    )
    options = parser.parse_args()
    _django()
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count

    from bench.database import database_ready
    from surveys.models import Invitation

    database_ready(settings.DATABASES["default"])
    if options.without_care_pool:
        from django.db.models.signals import post_save

        from surveys.models import Interaction
        from surveys.signals import interactions_recorded

        post_save.disconnect(sender=Interaction, dispatch_uid="care-pool-contact")
        interactions_recorded.disconnect(dispatch_uid="care-pool-contacts")
        say("diagnosis: care's pool receiver on new interactions is disconnected")
    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    path = options.file or folder / "interactions.csv"
    if not path.exists():
        started = time.perf_counter()
        file_write(path, options.rows)
        say(f"file: {options.rows:,} rows, written in {time.perf_counter() - started:.0f} s")
    say(f"file: {path}, {path.stat().st_size / 1e6:.0f} MB")
    if options.write_only:
        folder.rmdir()
        return
    version = connection.cursor().connection.info.server_version
    say(f"PostgreSQL {version}, chunk {settings.NPS_IMPORT_CHUNK} rows")
    tables_empty()
    copy_seconds = copy_plain(path)
    memory_before = peak_mb()
    record_seconds, import_seconds, _job = import_timed(path, "import")
    rerun_record, rerun_seconds, rerun = import_timed(path, "re-run")
    rows = options.rows
    copy_rate, record_rate = rows / copy_seconds, rows / record_seconds
    ratio, memory = record_rate / copy_rate, peak_mb()
    plan_seconds = import_seconds - record_seconds
    say("")
    say(f"COPY          {copy_rate:>10,.0f} rows/s")
    say(f"import        {record_rate:>10,.0f} rows/s   ratio {ratio:.4f} (target >= {TARGET_RATIO})"
        "   (the file read, checked and recorded)")  # fmt: skip
    say(f"planning      {rows / plan_seconds:>10,.0f} rows/s   ({plan_seconds:.1f} s after)")
    say(f"end to end    {rows / import_seconds:>10,.0f} rows/s   ratio "
        f"{rows / import_seconds / copy_rate:.4f} (recorded and planned)")  # fmt: skip
    say(f"re-run        {rows / rerun_seconds:>10,.0f} rows/s   added {rerun.rows_added} "
        f"(recording {rerun_record:.1f} s of {rerun_seconds:.1f} s)")  # fmt: skip
    say(f"memory        {memory:>10,.0f} MB peak (before the import {memory_before:.0f} MB)")
    by_status = Invitation.objects.values_list("status").annotate(n=Count("pk")).order_by()
    say(f"invitations planned: {dict(by_status)}")
    say(
        f"targets: ratio {'met' if ratio >= TARGET_RATIO else 'NOT met'}, "
        f"memory {'met' if memory <= TARGET_MB else 'NOT met'}"
    )
    if not options.keep_file and options.file is None:
        path.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
