"""The customer profile from a CSV: encodings, the tier rule, preferences, errors, re-runs."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from care.models import CustomerPreference
from surveys.customers_import import ImportFileError, customers_import
from surveys.models import Customer

pytestmark = pytest.mark.django_db

HEADER = "phone,name,tier,region,arpu,arpu_trend_yuan,pref:channel_sms\n"
ROWS = (
    "13800138001,张三,,西宁,250,-30.5,0.9\n"  # no tier: A from ARPU above 200
    "13800138002,李四,,拉萨,200,,\n"  # 200 itself is B
    "13800138003,王五,A,海东,50,,\n"  # the CRM's tier wins over ARPU's C
)


def test_utf8_with_a_byte_order_mark_stores_profiles_and_derives_tiers() -> None:
    result = customers_import(("\ufeff" + HEADER + ROWS).encode("utf-8"))

    assert (result.created, result.updated, result.errors) == (3, 0, [])
    first = Customer.objects.get(phone="+8613800138001")
    assert (first.name, first.tier, first.region) == ("张三", "A", "西宁")
    assert (first.arpu, first.arpu_trend_yuan) == (Decimal("250"), Decimal("-30.5"))
    assert Customer.objects.get(phone="+8613800138002").tier == "B"
    assert Customer.objects.get(phone="+8613800138003").tier == "A"
    sms = CustomerPreference.objects.get(customer=first, feature__code="channel_sms")
    assert (sms.value, sms.source) == (0.9, "crm")


def test_a_gbk_file_from_a_chinese_spreadsheet_reads_the_same() -> None:
    customers_import((HEADER + ROWS).encode("gbk"))

    assert Customer.objects.get(phone="+8613800138002").name == "李四"


def test_a_bad_row_is_named_with_its_field_and_the_others_are_stored() -> None:
    data = (
        HEADER
        + "13800138001,张三,,西宁,250,,\n"
        + "not-a-phone,,,,,,\n"  # row 3
        + "13800138004,,,,-5,,\n"  # row 4: negative ARPU
        + "13800138005,,,,,,1.5\n"  # row 5: a preference above 1
    ).encode()

    result = customers_import(data)

    assert result.created == 1
    assert [(e.row, e.field) for e in result.errors] == [
        (3, "phone"), (4, "arpu"), (5, "preferences.channel_sms"),
    ]  # fmt: skip
    assert not Customer.objects.filter(phone="+8613800138004").exists()


def test_an_empty_cell_keeps_the_stored_value_and_a_rerun_changes_nothing() -> None:
    customers_import((HEADER + ROWS).encode())
    before = list(Customer.objects.order_by("phone").values("phone", "tier", "arpu", "name"))

    again = customers_import((HEADER + ROWS).encode())
    customers_import(b"phone,region\n13800138001,\n")  # an empty region: not sent

    assert (again.created, again.updated) == (0, 3)
    assert list(Customer.objects.order_by("phone").values("phone", "tier", "arpu", "name")) == (
        before
    )
    assert Customer.objects.get(phone="+8613800138001").region == "西宁"


def test_a_dry_run_counts_and_stores_nothing() -> None:
    result = customers_import((HEADER + ROWS).encode(), dry_run=True)

    assert (result.created, result.failed_rows) == (3, 0)
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,arpu\nx,1\n", "'phone'"),
        (b"phone,colour\n13800138001,red\n", "Unknown column(s): colour"),
        ("phone\n13800138001\n".encode("utf-16"), "neither UTF-8 nor GB18030"),
    ],
)
def test_a_file_that_is_not_a_customer_list_is_refused_whole(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        customers_import(data)
    assert not Customer.objects.exists()


def test_the_command_reports_and_writes_refused_rows_as_neutralised_csv(tmp_path: Path) -> None:
    source = tmp_path / "customers.csv"
    source.write_bytes((HEADER + "13800138001,=cmd,,,,,\n" + "bad,,,,,,\n").encode())
    errors = tmp_path / "errors.csv"

    with pytest.raises(CommandError, match="1 row"):
        call_command("customers_import", str(source), "--errors", str(errors))

    assert Customer.objects.get(phone="+8613800138001").name == "=cmd"  # stored as text
    written = errors.read_text(encoding="utf-8-sig").splitlines()
    assert written[0] == "row,field,message"
    assert written[1].startswith("3,phone,")
