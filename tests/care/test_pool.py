"""The pool's own services: entering, leaving, ageing out, and its size over time."""

from datetime import UTC, datetime, timedelta

import pytest

from care.models import EntryReason, ExitReason, MemberKind, PoolMember, PoolPolicy
from care.pool import pool_age_out, pool_enter, pool_leave, pool_open
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
