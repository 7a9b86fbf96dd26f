"""Segments: each filter, the pool as the outer bound, and the validation of filters."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from care.models import (
    CustomerPreference,
    EntryReason,
    MemberKind,
    PreferenceFeature,
    RiskModel,
    RiskScore,
    Segment,
)
from care.pool import pool_enter, pool_leave
from care.segments import segment_count, segment_customers, segment_filters_clean
from surveys.models import Customer
from tests.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def held(filters: dict) -> set[str]:
    segment = Segment(name="s", filters=filters)
    return set(segment_customers(segment).values_list("name", flat=True))


@pytest.fixture
def people() -> dict[str, Customer]:
    now = timezone.now()
    c = {
        "ann": CustomerFactory(name="ann", tier="A", region="BJ"),
        "bo": CustomerFactory(name="bo", tier="B", region="SH"),
        "cy": CustomerFactory(name="cy", tier="C", region="BJ"),
        "dee": CustomerFactory(name="dee", tier="A", region="BJ"),  # never in the pool
        "eve": CustomerFactory(name="eve", tier="A", region="BJ"),  # left the pool
    }
    pool_enter(customer_ids=[c["ann"].pk], reason=EntryReason.DETRACTOR, at=now)
    pool_enter(customer_ids=[c["bo"].pk], reason=EntryReason.COMPLAINT, at=now)
    pool_enter(
        customer_ids=[c["cy"].pk], reason=EntryReason.MODEL, kind=MemberKind.POTENTIAL, at=now
    )
    pool_enter(customer_ids=[c["eve"].pk], reason=EntryReason.DETRACTOR, at=now)
    pool_leave(customer_ids=[c["eve"].pk], reason="aged", at=now)
    model = RiskModel.objects.create(
        algorithm="test", trained_from=now, trained_to=now, validated_to=now,
        train_size=1, validation_size=1, validation_positives=1,
    )  # fmt: skip
    for name, score in (("ann", 0.9), ("bo", 0.2), ("cy", 0.6), ("dee", 0.99)):
        RiskScore.objects.create(customer=c[name], risk_model=model, score=score, scored_at=now)
    InteractionFactory(customer=c["ann"], touchpoint="hotline", occurred_at=now)
    InteractionFactory(customer=c["bo"], touchpoint="hotline", occurred_at=now - timedelta(days=91))
    InteractionFactory(customer=c["cy"], touchpoint="store_own", occurred_at=now)
    sms = PreferenceFeature.objects.get(code="channel_sms")
    CustomerPreference.objects.create(customer=c["ann"], feature=sms, value=0.8, source="crm")
    CustomerPreference.objects.create(customer=c["cy"], feature=sms, value=0.3, source="crm")
    return c


def test_without_filters_a_segment_is_the_open_pool(people: dict[str, Customer]) -> None:
    assert held({}) == {"ann", "bo", "cy"}  # not dee (never in), not eve (left)
    assert segment_count(Segment(name="all", filters={})) == 3


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"kind": "explicit"}, {"ann", "bo"}),
        ({"kind": "potential"}, {"cy"}),
        ({"kind": "any"}, {"ann", "bo", "cy"}),
        ({"min_risk": 0.6}, {"ann", "cy"}),
        ({"tiers": ["A", "C"]}, {"ann", "cy"}),
        ({"regions": ["SH"]}, {"bo"}),
        ({"reasons": ["complaint", "model"]}, {"bo", "cy"}),
        ({"touchpoints": ["hotline"]}, {"ann"}),  # bo's call was 91 days ago
        ({"preferences": {"channel_sms": 0.5}}, {"ann"}),
        ({"preferences": {"channel_sms": 0.3}}, {"ann", "cy"}),
        ({"kind": "explicit", "regions": ["BJ"], "min_risk": 0.5}, {"ann"}),
        ({"kind": "potential", "reasons": ["detractor"]}, set()),  # one stay has both
    ],
)
def test_each_filter(people: dict[str, Customer], filters: dict, expected: set[str]) -> None:
    assert held(filters) == expected


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ([], "must be a JSON object"),
        ({"colour": "red"}, "Unknown filters: colour"),
        ({"kind": "latent"}, "kind must be"),
        ({"min_risk": 2}, "min_risk must be a number from 0 to 1"),
        ({"min_risk": True}, "min_risk must be a number from 0 to 1"),
        ({"tiers": "A"}, "tiers must be a list"),
        ({"tiers": ["Z"]}, "Unknown tiers: Z"),
        ({"reasons": ["angry"]}, "Unknown reasons: angry"),
        ({"touchpoints": ["moon"]}, "Unknown touchpoints: moon"),
        ({"preferences": ["channel_sms"]}, "preferences must be an object"),
        ({"preferences": {"nope": 0.5}}, "Unknown preference features: nope"),
        ({"preferences": {"channel_sms": 1.5}}, "channel_sms must be a number from 0 to 1"),
    ],
)
def test_filters_are_validated_with_a_clear_error(filters: object, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        segment_filters_clean(filters)
    assert message in " ".join(error.value.messages)


def test_clean_filters_are_normalised() -> None:
    assert segment_filters_clean({"kind": "any", "tiers": [], "min_risk": 1}) == {"min_risk": 1.0}
