"""The pool's own services: entering, leaving, ageing out, and its size over time."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from care.models import EntryReason, ExitReason, MemberKind, PoolMember, PoolPolicy
from care.pool import (
    pool_age_out,
    pool_counts,
    pool_enter,
    pool_leave,
    pool_open,
    pool_size_series,
)
from surveys.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def test_entering_opens_one_stay_per_customer_and_reports_how_many():
    a, b = CustomerFactory(), CustomerFactory()
    opened = pool_enter(
        customer_ids=[a.pk, b.pk, a.pk], reason=EntryReason.DETRACTOR, at=T0, source="response:7"
    )
    assert opened == 2
    stay = PoolMember.objects.get(customer=a)
    assert (stay.kind, stay.reason, stay.source, stay.entered_at) == (
        MemberKind.EXPLICIT,
        EntryReason.DETRACTOR,
        "response:7",
        T0,
    )


def test_entering_again_for_an_open_reason_opens_nothing():
    a = CustomerFactory()
    pool_enter(customer_ids=[a.pk], reason=EntryReason.DETRACTOR, at=T0)
    assert (
        pool_enter(customer_ids=[a.pk], reason=EntryReason.DETRACTOR, at=T0 + timedelta(days=1))
        == 0
    )
    assert pool_enter(customer_ids=[a.pk], reason=EntryReason.COMPLAINT, at=T0) == 1
    assert pool_open().filter(customer=a).count() == 2
    assert PoolMember.objects.get(customer=a, reason=EntryReason.DETRACTOR).entered_at == T0


def test_a_customer_who_left_can_enter_again_for_the_same_reason():
    a = CustomerFactory()
    pool_enter(customer_ids=[a.pk], reason=EntryReason.DETRACTOR, at=T0)
    pool_leave(customer_ids=[a.pk], reason=ExitReason.LATER_ANSWER, at=T0 + timedelta(days=1))
    assert (
        pool_enter(customer_ids=[a.pk], reason=EntryReason.DETRACTOR, at=T0 + timedelta(days=2))
        == 1
    )
    assert PoolMember.objects.filter(customer=a).count() == 2


def test_leaving_closes_only_the_reasons_given():
    a = CustomerFactory()
    pool_enter(customer_ids=[a.pk], reason=EntryReason.DETRACTOR, at=T0)
    pool_enter(customer_ids=[a.pk], reason=EntryReason.COMPLAINT, at=T0)
    left = T0 + timedelta(days=3)
    closed = pool_leave(
        customer_ids=[a.pk],
        reason=ExitReason.CARE_SUCCESS,
        at=left,
        entry_reasons=[EntryReason.COMPLAINT],
    )
    assert closed == 1
    complaint = PoolMember.objects.get(customer=a, reason=EntryReason.COMPLAINT)
    assert (complaint.left_at, complaint.exit_reason) == (left, ExitReason.CARE_SUCCESS)
    assert list(pool_open().values_list("reason", flat=True)) == [EntryReason.DETRACTOR]
    assert pool_leave(customer_ids=[a.pk], reason=ExitReason.LATER_ANSWER, at=left) == 1
    assert pool_leave(customer_ids=[a.pk], reason=ExitReason.LATER_ANSWER, at=left) == 0


def test_stays_older_than_the_policy_age_out():
    PoolPolicy.objects.update_or_create(pk=1, defaults={"age_days": 30})
    old, young = CustomerFactory(), CustomerFactory()
    now = T0 + timedelta(days=31)
    pool_enter(customer_ids=[old.pk], reason=EntryReason.DETRACTOR, at=T0)
    pool_enter(customer_ids=[young.pk], reason=EntryReason.DETRACTOR, at=T0 + timedelta(days=2))
    assert pool_age_out(now=now) == 1
    aged = PoolMember.objects.get(customer=old)
    assert (aged.left_at, aged.exit_reason) == (now, ExitReason.AGED)
    assert pool_open().get().customer_id == young.pk


# The pool's size over time, against counts made by hand.

SH = ZoneInfo("Asia/Shanghai")
DAYS = [date(2026, 3, d) for d in range(1, 6)]


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


def stay(
    customer: Customer, reason: str, entered: datetime, left: datetime | None = None, **kw: Any
) -> None:
    assert pool_enter(customer_ids=[customer.pk], reason=reason, at=entered, **kw) == 1
    if left is not None:
        assert (
            pool_leave(customer_ids=[customer.pk], reason="aged", at=left, entry_reasons=[reason])
            == 1
        )


@pytest.fixture
def history() -> None:
    """Five customers around 1-5 March 2026 (Shanghai days):
    A (BJ, A): detractor from 20 Feb to 3 Mar 10:00, and a complaint from 2 Mar 12:00, open;
    B (SH, C): complaint from 2 Mar 00:30 (still 1 Mar in UTC) to 4 Mar 07:00 (3 Mar in UTC);
    C (BJ, B): potential (model) from 4 Mar, open;
    D (GD, A): a detractor stay in February, and a complaint from 6 Mar, open (after the range);
    E (XZ, B): a detractor stay entered and left on 3 Mar (never in at a day's end).
    """
    a, b, c, d, e = (
        CustomerFactory(region=region, tier=tier)
        for region, tier in [("BJ", "A"), ("SH", "C"), ("BJ", "B"), ("GD", "A"), ("XZ", "B")]
    )
    stay(a, "detractor", local(20, 9, month=2), local(3, 10))
    stay(a, "complaint", local(2, 12))
    stay(b, "complaint", local(2, 0, 30), local(4, 7))
    stay(c, "model", local(4, 9), kind=MemberKind.POTENTIAL)
    stay(d, "detractor", local(1, 9, month=2), local(10, 9, month=2))
    stay(d, "complaint", local(6, 9))
    stay(e, "detractor", local(3, 8), local(3, 20))


def series(by: str, **kw: Any) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for point in pool_size_series(start=DAYS[0], end=DAYS[-1], by=by, **kw):
        out.setdefault(point.key, []).append(point.members)
        assert point.day == DAYS[len(out[point.key]) - 1]
    return out


@pytest.mark.usefixtures("history")
def test_the_size_by_reason_counts_stays_open_at_each_local_days_end() -> None:
    assert series("reason") == {
        "complaint": [0, 2, 2, 1, 1],
        "detractor": [1, 1, 0, 0, 0],
        "model": [0, 0, 0, 1, 1],
    }


@pytest.mark.usefixtures("history")
def test_the_size_by_region_counts_a_customer_once_across_overlapping_stays() -> None:
    assert series("region") == {
        "BJ": [1, 1, 1, 2, 2],
        "SH": [0, 1, 1, 0, 0],
        "XZ": [0, 0, 0, 0, 0],
    }


@pytest.mark.usefixtures("history")
def test_the_size_by_kind_tier_and_in_all() -> None:
    assert series("kind") == {"explicit": [1, 2, 2, 1, 1], "potential": [0, 0, 0, 1, 1]}
    assert series("tier") == {"A": [1, 1, 1, 1, 1], "B": [0, 0, 0, 1, 1], "C": [0, 1, 1, 0, 0]}
    assert series("all") == {"": [1, 2, 2, 2, 2]}
    assert series("all", kind=MemberKind.EXPLICIT) == {"": [1, 2, 2, 1, 1]}


@pytest.mark.usefixtures("history")
def test_the_size_now_by_group() -> None:
    assert pool_counts("reason") == {"complaint": 2, "model": 1}
    assert pool_counts("region") == {"BJ": 2, "GD": 1}
    assert pool_counts("all") == {"": 3}
    assert pool_counts("kind", kind=MemberKind.EXPLICIT) == {"explicit": 2}


def test_an_unknown_grouping_is_refused() -> None:
    with pytest.raises(ValueError, match="segment"):
        pool_size_series(start=DAYS[0], end=DAYS[-1], by="segment")


def test_the_series_is_one_query(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        pool_size_series(start=date(2026, 1, 1), end=date(2026, 3, 31), by="region")
