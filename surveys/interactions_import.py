"""Interactions from a file (CSV or .xlsx), for partners and stores that have no API.

The file's columns are mapped to the fields the interactions API takes (`FIELDS`); every
row is validated as the API's own serializer validates it (one rule for what an interaction
may carry; on PostgreSQL rows of the common shape are decided in SQL, see below)
and recorded so that it gets its survey planned exactly as a posted one. A row is known by
its CRM id: importing a file again adds nothing, and a known id with other values is a
refused row, as the API answers 409. A refused row is reported by number, field and
message in a CSV written through surveys/spreadsheets.py; the other rows are stored.

A file is read and stored in chunks, so memory stays flat however long it is; progress is
written on the InteractionImport row after every chunk (the admin's progress view and the
command's bar read it). On SQLite each chunk is recorded row by row through
`interaction_record`, which plans each survey as it stores the row; on PostgreSQL the
chunk goes through COPY into a staging table and is inserted set-based
(surveys/interactions_import_pg.py): a plain CSV file's lines go to COPY as they are, rows
of the common shape are validated in SQL, only the others go through the serializer, and
the recorded interactions' surveys are planned by the same rule once the whole file is
recorded (imported_plan), before the job is done.
"""

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ValidationError

from surveys.api.serializers import InteractionWriteSerializer
from surveys.customers_import import RowError, row_errors
from surveys.importfiles import (
    ImportFileError,
    csv_block_rows,
    csv_line_blocks,
    csv_lines_are_rows,
    encoding_detect,
    file_header,
    file_is_xlsx,
    file_rows,
)
from surveys.interactions import InteractionConflict, interaction_differences, interaction_record
from surveys.interactions_import_copy import (
    PG_ENCODINGS,
    chunk_copy_take,
    copy_columns,
    copy_ready,
)
from surveys.interactions_import_pg import (
    chunk_record_set,
    chunk_take_set,
    recorded_plan,
    recorded_start,
    tables_analyze,
)
from surveys.models import Customer, ImportStatus, Interaction, InteractionImport, Invitation
from surveys.queue import task_queue
from surveys.spreadsheets import SpreadsheetWriter

# Our field -> (label, column names that mean it in files we have seen, matched lowercase).
FIELDS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "external_id": (
        gettext_lazy("CRM id"),
        ("external_id", "id", "crm id", "工单号", "流水号", "外部编号"),
    ),
    "customer.phone": (
        gettext_lazy("phone"),
        ("phone", "customer.phone", "手机号", "手机号码", "联系电话", "电话"),
    ),
    "customer.name": (gettext_lazy("customer name"), ("name", "customer.name", "客户姓名", "姓名")),
    "customer.language": (gettext_lazy("language"), ("language", "customer.language", "语言")),
    "customer.tier": (gettext_lazy("value tier"), ("tier", "customer.tier", "客户等级", "等级")),
    "customer.region": (gettext_lazy("region"), ("region", "customer.region", "地区", "地市")),
    "customer.arpu": (gettext_lazy("monthly ARPU (yuan)"), ("arpu", "customer.arpu")),
    "touchpoint": (gettext_lazy("touchpoint"), ("touchpoint", "触点", "接触点")),
    "kind": (gettext_lazy("kind"), ("kind", "类别")),
    "channel": (gettext_lazy("channel"), ("channel", "渠道")),
    "business_type": (gettext_lazy("business type"), ("business_type", "业务类型")),
    "staff_id": (gettext_lazy("service staff id"), ("staff_id", "工号", "员工工号")),
    "staff_name": (gettext_lazy("service staff name"), ("staff_name", "员工姓名", "服务人员")),
    "unit_code": (
        gettext_lazy("store or channel id"),
        ("unit_code", "网点编码", "营业厅编码", "渠道编码"),
    ),
    "occurred_at": (
        gettext_lazy("occurred at"),
        ("occurred_at", "发生时间", "办理时间", "服务时间"),
    ),
}
REQUIRED = ("external_id", "customer.phone", "touchpoint", "occurred_at")
# A run that recorded this many interactions has the tables analysed before planning, and
# the invitation table again each time the run has planned twice as many as at the last.
ANALYZE_AFTER = 10_000
PREVIEW_ROWS = 10

Mapping = dict[str, str]  # file column -> our field
Valid = list[tuple[int, dict[str, Any]]]  # (row number, the serializer's validated data)


@dataclass
class ChunkResult:
    added: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    known: list[int] = field(default_factory=list)  # ids of recorded rows found the same


@dataclass(frozen=True)
class Preview:
    header: list[str]
    mapping: Mapping
    rows: list[list[str]]
    missing: list[str]  # required fields no column is mapped to


def mapping_detect(header: Iterable[str]) -> Mapping:
    """Each column whose name we recognise, mapped to its field; a field at most once."""
    mapping: Mapping = {}
    for column in header:
        name = column.strip().lower()
        for target, (_label, names) in FIELDS.items():
            if name in names and target not in mapping.values():
                mapping[column] = target
                break
    return mapping


def mapping_missing(mapping: Mapping) -> list[str]:
    """The required fields no column gives (an import cannot start without them)."""
    return [name for name in REQUIRED if name not in mapping.values()]


def mapping_check(mapping: Mapping, header: list[str]) -> None:
    """ImportFileError unless every mapped column exists, every field is ours and given once."""
    unknown = [name for name in mapping.values() if name not in FIELDS]
    absent = [column for column in mapping if column not in header]
    missing = mapping_missing(mapping)
    twice = {name for name in mapping.values() if list(mapping.values()).count(name) > 1}
    problems = [
        *([_("Unknown field(s): %s.") % ", ".join(unknown)] if unknown else []),
        *([_("No such column(s) in the file: %s.") % ", ".join(absent)] if absent else []),
        *([_("Mapped more than once: %s.") % ", ".join(sorted(twice))] if twice else []),
        *([_("No column for: %s.") % ", ".join(missing)] if missing else []),
    ]
    if problems:
        raise ImportFileError(" ".join(problems))


def import_preview(path: Path, *, mapping: Mapping | None = None) -> Preview:
    """The header, the first rows and the mapping (detected unless given), read lazily."""
    header = file_header(path)
    mapping = mapping_detect(header) if mapping is None else mapping
    rows = [cells for _number, cells in islice(file_rows(path), 1, PREVIEW_ROWS + 1)]
    return Preview(header, mapping, rows, mapping_missing(mapping))


def payload_build(header: list[str], cells: list[str], mapping: Mapping) -> dict[str, Any]:
    """The row as the API takes it; an empty cell is not sent (the API's default applies)."""
    payload: dict[str, Any] = {}
    for column, value in zip(header, cells, strict=False):
        target = mapping.get(column)
        if target is None or value == "":
            continue
        if target.startswith("customer."):
            payload.setdefault("customer", {})[target.removeprefix("customer.")] = value
        else:
            payload[target] = value
    return payload


def rows_validate(
    rows: list[tuple[int, dict[str, Any]]],
) -> tuple[list[tuple[int, dict[str, Any]]], list[RowError]]:
    """The API serializer's verdict on each row; a time without a zone is NPS_IMPORT_TIME_ZONE's.

    One serializer validates the whole chunk, as DRF's ListSerializer does with its child:
    building its fields is most of the cost of validating one row.
    """
    serializer, valid, errors = InteractionWriteSerializer(), [], []
    with timezone.override(settings.NPS_IMPORT_TIME_ZONE):
        for number, payload in rows:
            try:
                valid.append((number, dict(serializer.run_validation(payload))))
            except ValidationError as exc:
                errors += row_errors(number, exc.detail)
    return valid, errors


def conflict_error(number: int, fields: list[str]) -> RowError:
    message = _("This CRM id is already recorded with other values: %s.") % ", ".join(fields)
    return RowError(number, "external_id", message)


def chunk_known(valid: Valid, result: ChunkResult) -> Valid:
    """The chunk's rows whose CRM id is new, first of each; the others counted or refused.

    A known id is compared as the API compares a repeated post (interaction_differences),
    so a row that says something else about a recorded interaction is refused, not skipped.
    """
    ids = {data["external_id"] for _number, data in valid}
    found = {
        i.external_id: i
        for i in Interaction.objects.select_related("customer").filter(external_id__in=ids)
    }
    new: dict[str, dict[str, Any]] = {}
    kept: Valid = []
    for number, data in valid:
        payload = {k: v for k, v in data.items() if k != "external_id"}
        if (recorded := found.get(data["external_id"])) is not None:
            differ = interaction_differences(recorded, **payload)
        elif (first := new.get(data["external_id"])) is not None:
            differ = _payload_differences(first, data)
        else:
            new[data["external_id"]] = data
            kept.append((number, data))
            continue
        if differ:
            result.errors.append(conflict_error(number, differ))
        else:
            result.skipped += 1
            if recorded is not None:
                result.known.append(recorded.pk)
    return kept


def _payload_differences(first: dict[str, Any], again: dict[str, Any]) -> list[str]:
    """interaction_differences for two rows of one chunk (both validated: phones are E.164)."""
    names = sorted((first.keys() | again.keys()) - {"external_id", "customer"})
    differ = [name for name in names if first.get(name) != again.get(name)]
    if first["customer"]["phone"] != again["customer"]["phone"]:
        differ.insert(0, "customer.phone")
    return differ


def chunk_record_rows(valid: Valid, result: ChunkResult) -> None:
    """Record row by row through interaction_record (SQLite, or any database)."""
    for number, data in valid:
        try:
            recorded = interaction_record(**data)
        except InteractionConflict as exc:
            result.errors.append(conflict_error(number, exc.conflicts[0].fields))
            continue
        if recorded.created:
            result.added += 1
        else:
            result.skipped += 1


def set_based() -> bool:
    """Whether this database takes the COPY and set-based path (PostgreSQL)."""
    return connection.vendor == "postgresql" and settings.NPS_IMPORT_SET_BASED


def chunk_import(rows: list[tuple[int, dict[str, Any]]], *, dry_run: bool) -> ChunkResult:
    """Validate a chunk, then count it (dry run) or store it in one transaction."""
    result = ChunkResult()
    with transaction.atomic():
        staged = 0
        if set_based():
            rows, staged, result.skipped = chunk_take_set(rows)
        _chunk_store(rows, result, staged=staged, dry_run=dry_run)
    return result


def _chunk_store(
    rows: list[tuple[int, dict[str, Any]]], result: ChunkResult, *, staged: int, dry_run: bool
) -> None:
    """The rows the serializer decides (the `staged` ones are decided): validate, then count
    (dry run) or store them with the staged ones."""
    valid, result.errors = rows_validate(rows)
    new = chunk_known(valid, result)
    if dry_run:
        result.added += len(new) + staged
    elif set_based():
        chunk_record_set(new, result, staged=staged)
    else:
        chunk_record_rows(new, result)


@dataclass(frozen=True)
class CopySource:
    """A CSV file COPY reads as it is (PostgreSQL): RAW's column for each of its columns."""

    header: list[str]
    columns: list[str]
    encoding: str


def copy_source(path: Path, mapping: Mapping) -> CopySource | None:
    """The file as COPY can take it, or None (not PostgreSQL, a workbook, quoted cells...)."""
    if not set_based() or file_is_xlsx(path):
        return None
    header = file_header(path)
    mapping_check(mapping, header)
    encoding = encoding_detect(path)
    columns = copy_columns(header, mapping)
    if columns is None or encoding not in PG_ENCODINGS or not csv_lines_are_rows(path):
        return None
    return CopySource(header, columns, encoding)


def chunk_import_copy(
    block: bytes, *, first: int, lines: int, source: CopySource, mapping: Mapping, dry_run: bool
) -> tuple[ChunkResult, int]:
    """chunk_import for a block of a CopySource's lines, put into RAW by COPY (read by Python
    if COPY refuses it); (the result, how many rows were not blank)."""
    result = ChunkResult()
    with transaction.atomic():
        taken = chunk_copy_take(
            block, first=first, lines=lines, columns=source.columns, encoding=source.encoding
        )
        if taken is None:
            rows = [
                (number, payload_build(source.header, cells, mapping))
                for number, cells in csv_block_rows(block, first=first, encoding=source.encoding)
                if any(cells)
            ]
            count = len(rows)
            rows, staged, result.skipped = chunk_take_set(rows)
        else:
            rows, staged, result.skipped, count = taken
        _chunk_store(rows, result, staged=staged, dry_run=dry_run)
    return result, count


def chunks_import(path: Path, job: InteractionImport) -> Iterator[tuple[ChunkResult, int]]:
    """Each chunk of the file imported: (its result, how many rows it had)."""
    size = settings.NPS_IMPORT_CHUNK
    if (source := copy_source(path, job.mapping)) is not None:
        copy_ready(source.columns)
        for first, block, lines in csv_line_blocks(path, size):
            yield chunk_import_copy(
                block, first=first, lines=lines, source=source, mapping=job.mapping,
                dry_run=job.dry_run,
            )  # fmt: skip
        return
    payloads = payloads_read(path, job.mapping)
    while chunk := list(islice(payloads, size)):
        yield chunk_import(chunk, dry_run=job.dry_run), len(chunk)


def payloads_read(path: Path, mapping: Mapping) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, payload) for every non-blank row after the header."""
    rows = file_rows(path)
    _number, header = next(rows, (1, []))
    mapping_check(mapping, header)
    for number, cells in rows:
        if any(cells):
            yield number, payload_build(header, cells, mapping)


def rows_estimate(path: Path) -> int:
    """About how many rows follow the header: lines for a CSV, the sheet's size for .xlsx."""
    if file_is_xlsx(path):
        return 0  # unknown until read: the sheet's XML would have to be parsed twice
    lines = 0
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            lines += block.count(b"\n")
    return max(lines - 1, 0)


def interaction_import_upload(
    *, chunks: Iterable[bytes], filename: str, user: Any = None
) -> InteractionImport:
    """Keep an uploaded file (written as it arrives) and open its import with the detected mapping.

    ImportFileError if it cannot be read as rows; the file is then not kept.
    """
    folder = Path(settings.NPS_IMPORT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{Path(filename).suffix.lower()[:8]}"
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
    try:
        mapping = mapping_detect(file_header(path))
    except ImportFileError:
        path.unlink()
        raise
    return InteractionImport.objects.create(
        file=str(path), filename=filename[:255], mapping=mapping, created_by=user
    )


def interactions_import_start(*, job: InteractionImport, mapping: Mapping, dry_run: bool) -> None:
    """Queue the job's run with this mapping; the task runs after this transaction commits.
    A job whose run is alive (import_delivery's lease) is not started a second time."""
    mapping_check(mapping, file_header(Path(job.file)))
    started = (
        InteractionImport.objects.filter(pk=job.pk)
        .exclude(_run_alive(timezone.now()))
        .update(mapping=mapping, dry_run=dry_run, status=ImportStatus.QUEUED, message="")
    )
    if not started:
        raise ImportFileError(_("This file is being imported now: wait until it is done."))
    task_queue("surveys.tasks.import_interactions", job.pk)


def import_delivery(job_id: int) -> str:
    """What a delivery of the job's task does: "run" (the job is now this delivery's:
    queued, or running with no heartbeat for NPS_IMPORT_LEASE_SECONDS, its run gone),
    "wait" (another run renews the heartbeat: ask again after the lease) or "drop" (done,
    failed, or not queued: an extra copy of a task that already ran).

    Redis hands an unacknowledged task out again once it is older than
    CELERY_VISIBILITY_TIMEOUT, and an import of millions of rows can run longer than that:
    without this a second run would start beside the first, or after it, reading the whole
    file again and overwriting its counts.
    """
    now = timezone.now()
    gone = Q(status=ImportStatus.RUNNING) & ~_run_alive(now)
    claimed = InteractionImport.objects.filter(
        Q(status=ImportStatus.QUEUED) | gone, pk=job_id
    ).update(status=ImportStatus.RUNNING, heartbeat_at=now)
    if claimed:
        return "run"
    status = InteractionImport.objects.filter(pk=job_id).values_list("status", flat=True).first()
    return "wait" if status == ImportStatus.RUNNING else "drop"


def _run_alive(now: datetime) -> Q:
    """The lease: a job running whose heartbeat is younger than NPS_IMPORT_LEASE_SECONDS."""
    lease = timedelta(seconds=settings.NPS_IMPORT_LEASE_SECONDS)
    return Q(status=ImportStatus.RUNNING, heartbeat_at__gte=now - lease)


def interactions_import_run(
    *, job_id: int, progress: Callable[[InteractionImport], None] | None = None
) -> InteractionImport:
    """Run the job's file through, chunk by chunk; a second run adds nothing the first added."""
    job = InteractionImport.objects.get(pk=job_id)
    path, started = Path(job.file), time.monotonic()
    errors_path = Path(settings.NPS_IMPORT_DIR) / f"import-{job.pk}-errors.csv"
    errors_path.parent.mkdir(parents=True, exist_ok=True)
    _job_update(job, status=ImportStatus.RUNNING, started_at=timezone.now(), finished_at=None,
                rows_total=rows_estimate(path), rows_done=0, rows_added=0, rows_skipped=0,
                rows_failed=0, rate=0.0, errors_file=str(errors_path), message="")  # fmt: skip
    if set_based():
        recorded_start()
    try:
        with errors_path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = SpreadsheetWriter(out)
            writer.writerow(("row", "field", "message"))
            for result, rows in chunks_import(path, job):
                writer.writerows((e.row, e.field, e.message) for e in result.errors)
                _progress_record(job, result, rows=rows, seconds=time.monotonic() - started)
                if progress is not None:
                    progress(job)
    except ImportFileError as exc:
        imported_plan(job)
        _job_update(
            job, status=ImportStatus.FAILED, message=str(exc)[:500], finished_at=timezone.now()
        )
        return job
    except Exception:
        imported_plan(job)  # the chunks stored before whatever stopped the run are planned
        raise
    _job_update(job, rows_total=job.rows_done)
    imported_plan(job)
    _job_update(job, status=ImportStatus.DONE, message="", finished_at=timezone.now())
    return job


def imported_plan(job: InteractionImport) -> int:
    """Plan the surveys of the interactions the job recorded (the PostgreSQL path records
    the whole file first, then plans: recorded_plan); how many were planned. The job's
    message counts them as they go (the progress callback is the recording's)."""
    planned = 0
    if not set_based() or job.dry_run:  # planned as each row was stored, or nothing stored
        return planned
    if job.rows_added + job.rows_skipped >= ANALYZE_AFTER:
        tables_analyze(Customer, Interaction, Invitation)
    analyse_at = ANALYZE_AFTER
    for count in recorded_plan(size=settings.NPS_IMPORT_CHUNK):
        planned += count
        if planned >= analyse_at:  # the invitation table grows as fast as this plans
            tables_analyze(Invitation)
            analyse_at *= 2
        _job_update(job, message=_("Planning surveys: %(n)s planned.") % {"n": f"{planned:,}"})
    return planned


def _progress_record(
    job: InteractionImport, result: ChunkResult, *, rows: int, seconds: float
) -> None:
    failed = len({error.row for error in result.errors})
    job.rows_done += rows
    job.rows_added += result.added
    job.rows_skipped += result.skipped
    job.rows_failed += failed
    job.rate = job.rows_done / seconds if seconds > 0 else 0.0
    InteractionImport.objects.filter(pk=job.pk).update(
        rows_done=F("rows_done") + rows, rows_added=F("rows_added") + result.added,
        rows_skipped=F("rows_skipped") + result.skipped, rows_failed=F("rows_failed") + failed,
        rate=job.rate, heartbeat_at=timezone.now(),
    )  # fmt: skip


def _job_update(job: InteractionImport, **values: Any) -> None:
    """Set the job's fields and renew its heartbeat (import_delivery's lease)."""
    values = {"heartbeat_at": timezone.now(), **values}
    for name, value in values.items():
        setattr(job, name, value)
    InteractionImport.objects.filter(pk=job.pk).update(**values)
