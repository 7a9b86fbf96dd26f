"""Interactions from a file: encodings, Excel, mapping, refused rows, re-runs, progress, command."""

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from care.models import PoolMember
from surveys.importfiles import BLOCK, csv_lines_are_rows
from surveys.interactions import interaction_record
from surveys.interactions_import import (
    import_preview,
    interaction_import_upload,
    interactions_import_run,
    mapping_detect,
    rows_validate,
)
from surveys.interactions_import_pg import COLUMNS, STAGING, chunk_take_set, staging_row
from surveys.models import (
    Customer,
    ImportStatus,
    Interaction,
    InteractionImport,
    Invitation,
    InvitationStatus,
    Survey,
    Unit,
    UnitCode,
    UnitKind,
)
from surveys.phones import InvalidPhone, phone_parse

pytestmark = pytest.mark.django_db

# A Chinese store's export: its own column names, local times without a zone.
HEADER = "工单号,手机号,客户姓名,触点,渠道,网点编码,工号,发生时间\n"
WHEN = (datetime.now(UTC) + timedelta(hours=8) - timedelta(hours=2)).replace(microsecond=0)
LOCAL = WHEN.strftime("%Y-%m-%d %H:%M:%S")  # Asia/Shanghai, two hours ago
ROWS = (
    f"S-1,13800138001,张三,store_partner,门店,XN-01,E1,{LOCAL}\n"
    f"S-2,13800138002,李四,store_partner,门店,XN-01,E2,{LOCAL}\n"
    f"S-3,13800138003,王五,hotline,,,E3,{LOCAL}\n"
)


@pytest.fixture(autouse=True)
def import_dir(settings: Any, tmp_path: Path) -> Path:
    settings.NPS_IMPORT_DIR = tmp_path / "imports"
    return settings.NPS_IMPORT_DIR


def job_for(
    data: bytes, *, name: str = "interactions.csv", dry_run: bool = False
) -> InteractionImport:
    """An uploaded file with its detected mapping, as the admin's upload page opens it."""
    job = interaction_import_upload(chunks=[data], filename=name)
    InteractionImport.objects.filter(pk=job.pk).update(dry_run=dry_run)
    return job


def run(data: bytes, **options: Any) -> InteractionImport:
    return interactions_import_run(job_id=job_for(data, **options).pk)


def error_rows(job: InteractionImport) -> list[list[str]]:
    lines = Path(job.errors_file).read_text(encoding="utf-8-sig").splitlines()
    return [line.split(",", 2) for line in lines]


@pytest.mark.parametrize(
    "data",
    [
        (HEADER + ROWS).encode("utf-8"),
        ("\ufeff" + HEADER + ROWS).encode("utf-8"),
        (HEADER + ROWS).encode("gbk"),
        (HEADER + ROWS).encode("gb18030"),
    ],
    ids=["utf-8", "utf-8-bom", "gbk", "gb18030"],
)
def test_a_chinese_export_in_any_of_its_encodings_is_recorded(survey: Survey, data: bytes) -> None:
    job = run(data)

    assert (job.status, job.rows_done, job.rows_added, job.rows_failed) == ("done", 3, 3, 0)
    first = Interaction.objects.select_related("customer").get(external_id="S-1")
    assert (first.customer.phone, first.customer.name) == ("+8613800138001", "张三")
    assert (first.touchpoint, first.channel, first.unit_code, first.staff_id) == (
        "store_partner", "门店", "XN-01", "E1",
    )  # fmt: skip
    assert first.occurred_at == WHEN.replace(tzinfo=UTC) - timedelta(hours=8)  # read as Shanghai


def test_imported_interactions_get_their_survey_planned_as_posted_ones(survey: Survey) -> None:
    posted = interaction_record(
        external_id="API-1", customer={"phone": "13800138009"}, touchpoint="hotline",
        occurred_at=WHEN.replace(tzinfo=UTC) - timedelta(hours=8),
    ).interaction  # fmt: skip

    run((HEADER + ROWS).encode())

    imported = Invitation.objects.get(interaction__external_id="S-3")
    expected = Invitation.objects.get(interaction=posted)
    assert (imported.status, imported.survey_id) == (expected.status, expected.survey_id)
    assert imported.status == InvitationStatus.SCHEDULED
    assert Invitation.objects.filter(interaction__external_id__startswith="S-").count() == 3


def test_an_excel_workbook_reads_number_and_date_cells(survey: Survey, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["external_id", "phone", "touchpoint", "occurred_at"])
    sheet.append(["X-1", 13800138001, "online", WHEN.replace(tzinfo=None)])  # a number, a date
    path = tmp_path / "book.xlsx"
    book.save(path)

    job = run(path.read_bytes(), name="book.xlsx")

    assert (job.rows_added, job.rows_failed) == (1, 0)
    stored = Interaction.objects.select_related("customer").get(external_id="X-1")
    assert stored.customer.phone == "+8613800138001"
    assert stored.occurred_at == WHEN.replace(tzinfo=UTC) - timedelta(hours=8)


def test_column_names_are_mapped_in_chinese_and_english() -> None:
    header = ["工单号", "Phone", "touchpoint", "发生时间", "备注"]

    assert mapping_detect(header) == {
        "工单号": "external_id", "Phone": "customer.phone", "touchpoint": "touchpoint",
        "发生时间": "occurred_at",
    }  # fmt: skip


def test_the_preview_shows_the_first_rows_and_what_is_not_mapped_yet() -> None:
    job = job_for(
        b"ref,mobile,touchpoint,occurred_at\nR-1,13800138001,online,2026-11-30T08:00:00Z\n"
    )

    preview = import_preview(Path(job.file))

    assert preview.header == ["ref", "mobile", "touchpoint", "occurred_at"]
    assert preview.rows == [["R-1", "13800138001", "online", "2026-11-30T08:00:00Z"]]
    assert preview.missing == ["external_id", "customer.phone"]


def test_a_mapping_chosen_by_hand_names_unrecognised_columns(survey: Survey) -> None:
    job = job_for(f"ref,mobile,touchpoint,occurred_at\nR-1,13800138001,online,{LOCAL}\n".encode())
    InteractionImport.objects.filter(pk=job.pk).update(
        mapping={"ref": "external_id", "mobile": "customer.phone", "touchpoint": "touchpoint",
                 "occurred_at": "occurred_at"}
    )  # fmt: skip

    done = interactions_import_run(job_id=job.pk)

    assert done.rows_added == 1
    assert Interaction.objects.filter(external_id="R-1", customer__phone="+8613800138001").exists()


def test_a_mapping_without_a_required_field_fails_the_import_and_stores_nothing() -> None:
    job = run(b"ref,mobile,touchpoint,occurred_at\nR-1,13800138001,online,2026-11-30T08:00:00Z\n")

    assert job.status == ImportStatus.FAILED
    assert "external_id" in job.message
    assert not Interaction.objects.exists()


def test_refused_rows_are_named_with_their_field_and_the_others_are_stored(survey: Survey) -> None:
    data = HEADER + (
        f"S-1,13800138001,张三,store_partner,,,,{LOCAL}\n"
        f"S-2,not-a-phone,,store_partner,,,,{LOCAL}\n"  # row 3
        f"S-3,13800138003,,=cmd|' /C calc'!A0,,,,{LOCAL}\n"  # row 4: no such touchpoint
        "S-4,13800138004,,hotline,,,,yesterday\n"  # row 5
    )

    job = run(data.encode())

    assert (job.rows_added, job.rows_failed) == (1, 3)
    rows = error_rows(job)
    assert rows[0] == ["row", "field", "message"]
    assert [row[:2] for row in rows[1:]] == [
        ["3", "customer.phone"], ["4", "touchpoint"], ["5", "occurred_at"],
    ]  # fmt: skip
    assert Interaction.objects.get().external_id == "S-1"


def test_a_second_run_of_the_same_file_adds_nothing(survey: Survey) -> None:
    first = run((HEADER + ROWS).encode())
    again = run((HEADER + ROWS).encode())

    assert (first.rows_added, again.rows_added, again.rows_skipped) == (3, 0, 3)
    assert Interaction.objects.count() == 3
    assert Invitation.objects.count() == 3


def test_a_known_id_with_other_values_is_refused_as_the_api_refuses_it(survey: Survey) -> None:
    run((HEADER + ROWS).encode())
    changed = HEADER + ROWS.replace("S-3,13800138003,王五,hotline", "S-3,13800138003,王五,online")

    job = run(changed.encode())

    assert (job.rows_skipped, job.rows_failed) == (2, 1)
    assert error_rows(job)[1][:2] == ["4", "external_id"]
    assert "touchpoint" in error_rows(job)[1][2]
    assert Interaction.objects.get(external_id="S-3").touchpoint == "hotline"


def test_the_same_id_twice_in_one_file_is_recorded_once(survey: Survey) -> None:
    job = run((HEADER + ROWS + ROWS.splitlines()[0] + "\n").encode())

    assert (job.rows_added, job.rows_skipped) == (3, 1)
    assert Interaction.objects.filter(external_id="S-1").count() == 1


def test_a_dry_run_counts_and_stores_nothing(survey: Survey) -> None:
    run((HEADER + ROWS.splitlines()[0] + "\n").encode())  # S-1 is already there
    before = (Interaction.objects.count(), Customer.objects.count(), Invitation.objects.count())

    job = run((HEADER + ROWS + "S-9,bad,,hotline,,,,x\n").encode(), dry_run=True)

    assert (job.rows_added, job.rows_skipped, job.rows_failed) == (2, 1, 1)
    assert (Interaction.objects.count(), Customer.objects.count(), Invitation.objects.count()) == (
        before
    )


def test_chunks_are_recorded_one_after_another(settings: Any, survey: Survey) -> None:
    settings.NPS_IMPORT_CHUNK = 2
    seen: list[int] = []

    job = interactions_import_run(
        job_id=job_for((HEADER + ROWS).encode()).pk, progress=lambda job: seen.append(job.rows_done)
    )

    assert seen == [2, 3]
    assert InteractionImport.objects.get(pk=job.pk).rows_done == 3


# ----------------------------------------------------------------- both storing paths


def stored() -> dict[str, Any]:
    """What an import leaves, without ids and clocks: to compare the two paths."""
    by_pk = dict(Interaction.objects.values_list("pk", "external_id"))
    return {
        "customers": list(
            Customer.objects.order_by("phone").values_list(
                "phone", "name", "language", "tier", "region", "arpu", "is_mobile", "time_zone"
            )
        ),
        "interactions": list(
            Interaction.objects.order_by("external_id").values_list(
                "external_id",
                "customer__phone",
                "touchpoint",
                "kind",
                "channel",
                "business_type",
                "staff_id",
                "staff_name",
                "unit_code",
                "unit__name",
                "occurred_at",
            )
        ),
        "invitations": list(
            Invitation.objects.order_by("interaction__external_id").values_list(
                "interaction__external_id",
                "status",
                "suppressed_reason",
                "survey_id",
                "purpose",
                "language",
                "attempts",
                "text",
                "failure_reason",
                "gateway",
            )
        ),
        "pool": sorted(
            (m.customer.phone, m.reason, m.entered_at, by_pk[int(m.source.split(":")[1])])
            for m in PoolMember.objects.select_related("customer")
        ),
    }


MIXED = (
    "external_id,phone,name,tier,arpu,region,touchpoint,kind,unit_code,staff_name,occurred_at\n"
    f"M-1,13800138001,张三,,250,西宁,store_own,,XN-01,王,{LOCAL}\n"
    f"M-2,13800138001,,,,,hotline,complaint,,,{LOCAL}\n"  # same customer, blanks keep values
    f"M-3,13800138002,李四,A,50,,online,,XN-02,,{LOCAL}\n"  # an unmapped code
    f"M-4,13900000001,,,,,hotline,,,,{LOCAL}\n"  # a known customer, no new values
    f"M-1,13800138001,张三,,250,西宁,store_own,,XN-01,王,{LOCAL}\n"  # again in the file
    f"K-1,13800138005,,,,,online,,,,{LOCAL}\n"  # recorded before the import
    f"K-2,13800138005,,,,,hotline,,,,{LOCAL}\n"  # recorded before with another touchpoint
    f"M-5,13800138006,,,,,nowhere,,,,{LOCAL}\n"  # refused: no such touchpoint
    f"M-6,010 6552 9988,,,,,hotline,,,,{LOCAL}\n"  # a landline: planned as suppressed
)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_the_copy_path_stores_what_the_row_path_stores(settings: Any, survey: Survey) -> None:
    unit = Unit.objects.create(name="西宁门店", kind=UnitKind.STORE)
    UnitCode.objects.create(code="XN-01", unit=unit)
    Customer.objects.create(phone="+8613900000001", name="老客户", tier="A", region="海东")
    for external_id, touchpoint in (("K-1", "online"), ("K-2", "online")):
        interaction_record(
            external_id=external_id, customer={"phone": "13800138005"}, touchpoint=touchpoint,
            occurred_at=WHEN.replace(tzinfo=UTC) - timedelta(hours=8),
        )  # fmt: skip
    results = {}
    for set_based in (False, True):
        settings.NPS_IMPORT_SET_BASED = set_based
        with transaction.atomic():
            job = run(MIXED.encode())
            results[set_based] = (
                (job.rows_added, job.rows_skipped, job.rows_failed), error_rows(job), stored(),
            )  # fmt: skip
            transaction.set_rollback(True)

    assert results[True] == results[False]
    assert results[True][0] == (5, 2, 2)  # M-1..M-4, M-6; M-1 again, K-1; K-2, M-5
    assert [row[:2] for row in results[True][2]["pool"]] == [("+8613800138001", "complaint")]


# ----------------------------------------------------------------- admin and command


@pytest.fixture
def importer(db: Any) -> Client:
    """Staff allowed to record interactions: the import's right."""
    user = User.objects.create_user("importer", password="x", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="surveys", codename="add_interaction")
    )
    client = Client()
    client.force_login(user)
    return client


def test_upload_preview_and_start_queue_the_import(
    importer: Client, survey: Survey, django_capture_on_commit_callbacks: Any
) -> None:
    upload = importer.post(
        reverse("admin:surveys_interactionimport_add"),
        {"file": _named((HEADER + ROWS).encode("gbk"), "门店.csv")},
    )
    job = InteractionImport.objects.get()
    assert upload.url == reverse("admin:surveys_interactionimport_mapping", args=[job.pk])
    page = importer.get(upload.url)
    assert "李四" in page.content.decode()  # the preview, read as GBK

    fields = {
        f"column_{i}": v
        for i, v in enumerate(job.mapping.get(c, "") for c in HEADER.strip().split(","))
    }
    with django_capture_on_commit_callbacks() as queued:
        started = importer.post(upload.url, {**fields, "start": "1"})

    assert started.url == reverse("admin:surveys_interactionimport_progress", args=[job.pk])
    assert len(queued) == 1  # the task, published after commit
    assert InteractionImport.objects.get().status == ImportStatus.QUEUED


def _named(data: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_the_progress_endpoint_reports_counts_and_the_errors_download(
    importer: Client, survey: Survey
) -> None:
    job = run((HEADER + ROWS + "S-9,bad,,hotline,,,,x\n").encode())

    answer = importer.get(reverse("admin:surveys_interactionimport_progress_json", args=[job.pk]))
    page = importer.get(reverse("admin:surveys_interactionimport_progress", args=[job.pk]))
    errors = importer.get(reverse("admin:surveys_interactionimport_errors", args=[job.pk]))

    assert answer.json() | {"rate": 0} == {
        "status": "done", "status_label": "Done", "finished": True, "dry_run": False,
        "rows_total": 4, "rows_done": 4, "rows_added": 3, "rows_skipped": 0, "rows_failed": 1,
        "rate": 0, "message": "",
    }  # fmt: skip
    assert 'data-url="/admin/' in page.content.decode()
    assert "import_progress.js" in page.content.decode()
    lines = errors.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,field,message"
    assert lines[1].startswith("5,customer.phone,")


def test_staff_without_the_right_to_record_interactions_cannot_open_an_import(
    survey: Survey,
) -> None:
    job = run((HEADER + ROWS).encode())
    client = Client()
    client.force_login(User.objects.create_user("lead", is_staff=True))

    for name in ("progress_json", "progress", "errors", "mapping"):
        url = reverse(f"admin:surveys_interactionimport_{name}", args=[job.pk])
        assert client.get(url).status_code == 403, name
    assert client.get(reverse("admin:surveys_interactionimport_add")).status_code == 403


def test_the_command_imports_with_a_mapping_and_draws_a_bar(
    survey: Survey, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "file.csv"
    source.write_bytes(f"ref,mobile,tp,at\nR-1,13800138001,online,{LOCAL}\n".encode("gbk"))
    mapping = ["ref=external_id", "mobile=customer.phone", "tp=touchpoint", "at=occurred_at"]

    call_command("import_interactions", str(source), *[f"--mapping={m}" for m in mapping])

    out, err = capsys.readouterr()
    assert "1 rows: 1 added, 0 already there, 0 refused" in out
    assert "[" + "#" * 30 + "] 100%" in err
    assert Interaction.objects.filter(external_id="R-1").exists()


def test_the_command_dry_run_stores_nothing_and_a_bad_mapping_fails(
    survey: Survey, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "file.csv"
    source.write_bytes((HEADER + ROWS).encode())

    call_command("import_interactions", str(source), "--dry-run", "--quiet-bar")
    with pytest.raises(CommandError, match="external_id"):
        call_command("import_interactions", str(source), "--mapping=工单号=nothing", "--quiet-bar")

    assert "3 would be added" in capsys.readouterr().out
    assert not Interaction.objects.exists()


# ----------------------------------------------------------------- SQL and the serializer agree

NOW_LOCAL = datetime.now(UTC) + timedelta(hours=8)
# (what differs from a plain row, whether SQL decides it: the others go to the serializer)
TRICKY: list[tuple[dict[str, Any], bool]] = [
    ({}, True),
    ({"phone": "+8613800138001"}, True),
    ({"phone": "8613800138001"}, False),
    ({"phone": "138 0013 8001"}, False),
    ({"phone": "1380013800"}, False),  # one digit short: refused
    ({"phone": "14000000000"}, False),  # not a mobile range: stored, not mobile
    ({"phone": "19400000000"}, False),
    ({"phone": "16100000000"}, True),
    ({"phone": "17400000000"}, True),
    ({"phone": "17406000000"}, False),
    ({"name": " 张三"}, False),
    ({"name": "张三\u3000"}, False),  # an ideographic space: the serializer trims it
    ({"name": "名" * 100}, True),
    ({"name": "名" * 101}, False),
    ({"name": "王\x00五"}, False),
    ({"region": "西宁"}, True),
    ({"language": "zh-hans"}, True),
    ({"language": "klingon"}, False),
    ({"tier": "A"}, False),
    ({"arpu": "30"}, False),
    ({"occurred_at": "2024-02-29 10:00:00"}, True),
    ({"occurred_at": "2023-02-29 10:00:00"}, False),
    ({"occurred_at": "2026-02-30 10:00:00"}, False),
    ({"occurred_at": "2026-13-01 10:00:00"}, False),
    ({"occurred_at": "2026-11-20T08:00:00"}, True),
    ({"occurred_at": "2026-11-20 08:00"}, False),
    ({"occurred_at": "2026-11-20T08:00:00+08:00"}, False),
    ({"occurred_at": "2026-11-20 24:00:00"}, False),
    ({"occurred_at": "1899-12-31 23:00:00"}, False),  # before 1900 in UTC: refused
    ({"occurred_at": "1900-01-02 10:00:00"}, True),
    ({"occurred_at": "1988-04-17 02:30:00"}, False),  # no such time in Shanghai: refused
    ({"occurred_at": "1988-04-16 20:00:00"}, False),  # hours before a clock change
    ({"occurred_at": "1988-09-11 00:30:00"}, False),  # twice in Shanghai
    ({"occurred_at": "1988-07-01 10:00:00"}, True),  # summer time: UTC+9
    ({"occurred_at": (NOW_LOCAL + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")}, False),
    ({"touchpoint": "Hotline"}, False),
    ({"touchpoint": "nowhere"}, False),
    ({"kind": "complaint"}, True),
    ({"kind": "COMPLAINT"}, False),
    ({"channel": "c" * 32}, True),
    ({"channel": "c" * 33}, False),
    ({"unit_code": "u" * 64, "staff_id": "E1", "staff_name": "王", "business_type": "5G"}, True),
    ({"unit_code": "u" * 65}, False),
    ({"staff_name": "王 "}, False),
    ({"external_id": " T-x"}, False),
    ({"external_id": "T" * 64}, True),
    ({"external_id": "T" * 65}, False),
]


def tricky_payload(n: int, change: dict[str, Any]) -> dict[str, Any]:
    cells = {"external_id": f"T-{n}", "phone": "13800138001", "touchpoint": "hotline"}
    cells |= {"occurred_at": LOCAL, **change}
    customer = {k: cells.pop(k) for k in ("phone", "name", "language", "tier", "region", "arpu")
                if k in cells}  # fmt: skip
    return {**cells, "customer": customer}


def sql_staged(rows: list[tuple[int, dict[str, Any]]]) -> dict[int, tuple[Any, ...]]:
    """The rows chunk_take_set puts into the staging table, as staging_row's tuples."""
    with transaction.atomic():
        left, new, known = chunk_take_set(rows)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM {STAGING}")  # noqa: S608
            staged = {row[0]: row for row in cursor.fetchall()}
        transaction.set_rollback(True)
    assert (new, known) == (len(staged), 0)
    assert sorted(n for n, _payload in left) == sorted(n for n, _ in rows if n not in staged)
    return staged


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL path is PostgreSQL's")
def test_sql_takes_only_rows_the_serializer_accepts_and_stores_what_it_would() -> None:
    rows = [(n, tricky_payload(n, change)) for n, (change, _takes) in enumerate(TRICKY, start=2)]
    staged = sql_staged(rows)
    expected = [n for n, (_change, takes) in enumerate(TRICKY, start=2) if takes]
    assert sorted(staged) == expected
    valid, errors = rows_validate([(n, payload) for n, payload in rows if n in staged])
    assert errors == []
    assert {n: staging_row(n, data) for n, data in valid} == staged


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL path is PostgreSQL's")
def test_sql_takes_exactly_the_numbers_libphonenumber_calls_mobile() -> None:
    rng = random.Random(18)
    phones = {f"1{rng.randrange(10**10):010d}" for _ in range(3000)}
    phones |= {f"1{head}{rng.randrange(10**8):08d}" for head in range(10, 100)}
    rows = [(n, tricky_payload(n, {"phone": p})) for n, p in enumerate(sorted(phones), start=2)]
    staged = sql_staged(rows)
    phone_of = {n: payload["customer"]["phone"] for n, payload in rows}

    def is_mobile(phone: str) -> bool:
        try:
            return phone_parse(phone).is_mobile
        except InvalidPhone:
            return False

    mobile = {n for n, phone in phone_of.items() if is_mobile(phone)}
    assert set(staged) == mobile
    assert all(staged[n][2] == phone_parse(phone_of[n]).e164 for n in mobile)
    assert 0 < len(mobile) < len(rows)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL path is PostgreSQL's")
def test_a_file_of_tricky_rows_is_stored_and_refused_alike_by_both_paths(
    settings: Any, survey: Survey
) -> None:
    columns = ("external_id", "phone", "name", "language", "tier", "region", "arpu")
    columns += ("touchpoint", "kind", "channel", "staff_name", "unit_code", "occurred_at")
    lines = [",".join(columns)]
    for n, (change, _takes) in enumerate(TRICKY, start=2):
        payload = tricky_payload(n, change)
        cells = {**payload, **payload["customer"]}
        if any("\x00" in str(v) or "," in str(v) for v in cells.values()):
            continue
        lines.append(",".join(str(cells.get(name, "")) for name in columns))
    results = {}
    for set_based in (False, True):
        settings.NPS_IMPORT_SET_BASED = set_based
        with transaction.atomic():
            job = run(("\n".join(lines) + "\n").encode())
            results[set_based] = (
                (job.rows_added, job.rows_skipped, job.rows_failed), error_rows(job), stored(),
            )  # fmt: skip
            transaction.set_rollback(True)
    assert results[True] == results[False]
    assert results[True][0][2] >= 10  # refused rows are in the comparison


# ----------------------------------------------------------------- a CSV file by COPY


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b\r\n1,2\r\n", True),
        ("a,b\n1,2", True),
        ('a,b\n"1,5",2\n', False),  # a quoted cell
        ("a,b\r1,2\r", False),  # rows ended by a carriage return alone
        ("a,b\n1\r,2\n", False),
    ],
)
def test_a_csv_file_is_one_row_a_line_only_without_quotes_or_lone_returns(
    tmp_path: Path, text: str, expected: bool
) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(text.encode())

    assert csv_lines_are_rows(path) is expected


def test_a_carriage_return_at_the_end_of_a_block_is_read_with_the_next_line_feed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(b"a" * (BLOCK - 1) + b"\r\n" + b"b\r\n")

    assert csv_lines_are_rows(path)


# Lines COPY refuses (a blank one, too few and too many cells, a bare "\." that would end
# COPY's input): their blocks are read by Python, and the file is stored as Python reads it.
AWKWARD = HEADER + (
    f"A-1,13800138001,张三,store_partner,门店,XN-01,E1,{LOCAL}\n"
    "\n"
    f"A-2,13800138002,李四,hotline,,,E2,{LOCAL}\n"
    f"A-3,13800138003,,hotline,,,{LOCAL}\n"  # a cell short: refused
    f"A-4,13800138004,,hotline,,,E4,{LOCAL},extra\n"  # one more: the extra is ignored
    "\\.\n"
    f"A-5,13800138005,,online,,,E5,{LOCAL}\n"
    f"A-6, 13800138006 ,\u3000王六,online,,,E6,{LOCAL}\n"  # white space around: stripped
    " , ,,,,,,\n"  # blank cells only: no row
    f"A-7,13800138007,,online,,,E7,{LOCAL}\n"
)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
@pytest.mark.parametrize("chunk", [2, 1000])
def test_lines_copy_refuses_are_read_as_python_reads_them(
    settings: Any, survey: Survey, chunk: int
) -> None:
    settings.NPS_IMPORT_CHUNK = chunk
    results = {}
    for set_based in (False, True):
        settings.NPS_IMPORT_SET_BASED = set_based
        with transaction.atomic():
            job = run(AWKWARD.encode("gbk"))
            results[set_based] = (
                (job.rows_done, job.rows_added, job.rows_skipped, job.rows_failed),
                error_rows(job), stored(),
            )  # fmt: skip
            transaction.set_rollback(True)

    assert results[True] == results[False]
    assert results[True][0] == (8, 6, 0, 2)  # A-3 and the "\." line refused
    assert [row[:2] for row in results[True][1][1:]] == [
        ["5", "occurred_at"], ["7", "customer"], ["7", "touchpoint"], ["7", "occurred_at"],
    ]  # fmt: skip
    assert ("+8613800138006", "王六") in [row[:2] for row in results[True][2]["customers"]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_chunks_of_a_plain_csv_are_taken_by_copy_without_the_serializer(
    settings: Any, survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    import surveys.interactions_import as module

    validated: list[int] = []
    serializer_rows = module.rows_validate

    def counting(rows: list[tuple[int, dict[str, Any]]]) -> Any:
        validated.extend(number for number, _payload in rows)
        return serializer_rows(rows)

    monkeypatch.setattr(module, "rows_validate", counting)

    job = run((HEADER + ROWS + "S-9,bad,,hotline,,,,x\n").encode())

    assert (job.rows_added, job.rows_failed) == (3, 1)
    assert validated == [5]  # only the row SQL cannot decide went to the serializer


# ----------------------------------------------------------------- planning after recording


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_interactions_a_stopped_run_recorded_get_their_survey_from_the_next_run(
    survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    import surveys.interactions_import as module

    data = (HEADER + ROWS).encode()
    with monkeypatch.context() as patched:
        patched.setattr(module, "imported_plan", lambda job: 0)  # the worker died here
        first = run(data)
    assert (first.rows_added, Invitation.objects.count()) == (3, 0)

    again = run(data)

    assert (again.rows_added, again.rows_skipped) == (0, 3)
    assert sorted(Invitation.objects.values_list("interaction__external_id", flat=True)) == [
        "S-1", "S-2", "S-3",
    ]  # fmt: skip
    assert again.message == ""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_the_chunks_stored_before_a_run_fails_get_their_surveys(
    settings: Any, survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    import surveys.interactions_import as module

    settings.NPS_IMPORT_CHUNK = 2

    def lost(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(module, "_progress_record", lost)  # after the first chunk committed

    with pytest.raises(RuntimeError):
        run((HEADER + ROWS).encode())

    assert sorted(Invitation.objects.values_list("interaction__external_id", flat=True)) == [
        "S-1", "S-2",
    ]  # fmt: skip
    assert not Interaction.objects.filter(external_id="S-3").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_a_large_import_has_its_tables_analysed_before_and_while_planning(
    survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    import surveys.interactions_import as module

    monkeypatch.setattr(module, "ANALYZE_AFTER", 3)

    run((HEADER + ROWS).encode())

    with connection.cursor() as cursor:  # what ANALYZE counted, in this test's transaction
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN "
            "('surveys_interaction', 'surveys_invitation')"
        )
        assert dict(cursor.fetchall()) == {"surveys_interaction": 3, "surveys_invitation": 3}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_a_second_run_plans_nothing_twice(survey: Survey) -> None:
    run((HEADER + ROWS).encode())
    planned = list(Invitation.objects.order_by("pk").values_list("pk", "status"))

    run((HEADER + ROWS).encode())

    assert list(Invitation.objects.order_by("pk").values_list("pk", "status")) == planned
