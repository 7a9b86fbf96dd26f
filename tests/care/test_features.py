"""The risk model's features, from rows whose values are worked out by hand."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.db import connection

from care.features import FEATURES, features_iter, features_matrix
from followups.models import Case
from surveys.models import Customer, Interaction, Invitation, Response
from surveys.models.responses import Category
from tests.factories import CustomerFactory, InteractionFactory

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def days(n: float) -> datetime:
    return AS_OF + timedelta(days=n)


def visit(customer: Customer, touchpoint: str, at: datetime, kind: str = "service") -> Interaction:
    return InteractionFactory(customer=customer, touchpoint=touchpoint, kind=kind, occurred_at=at)


def answer(interaction: Interaction, score: int, at: datetime) -> Response:
    invitation = Invitation.objects.create(
        interaction=interaction,
        customer=interaction.customer,
        status="responded",
        sent_at=at - timedelta(hours=1),
        expires_at=at + timedelta(hours=47),
        responded_at=at,
    )
    response = Response.objects.create(
        invitation=invitation,
        customer=interaction.customer,
        interaction=interaction,
        score=score,
        category=Category.for_score(score),
    )
    Response.objects.filter(pk=response.pk).update(created_at=at)
    return response


@pytest.fixture
def rows(db: Any) -> dict[str, Customer]:
    return _rows()


def _rows() -> dict[str, Customer]:
    """Alice (A, BJ) is busy and unhappy; Bob (C, SH) is new and silent; Carol (GZ) a promoter."""
    alice = CustomerFactory(tier="A", arpu=Decimal("250.50"), arpu_trend_yuan=-30, region="BJ")
    bob = CustomerFactory(tier="C", region="SH")
    carol = CustomerFactory(tier="B", region="GZ")
    Customer.objects.filter(pk=alice.pk).update(created_at=days(-400))
    Customer.objects.filter(pk=bob.pk).update(created_at=days(-10))
    Customer.objects.filter(pk=carol.pk).update(created_at=days(+5))  # created after as_of

    visit(alice, "hotline", days(-2))
    complaint = visit(alice, "hotline", days(-20), kind="complaint")
    store = visit(alice, "store_own", days(-60))
    old = visit(alice, "online", days(-200))
    later = visit(alice, "hotline", days(+1))  # after as_of: not counted
    case_on = answer(complaint, 3, days(-19))
    answer(store, 9, days(-59))
    answer(later, 10, days(+1.1))  # after as_of
    Invitation.objects.create(  # sent, window over, never answered
        interaction=old, customer=alice, status="expired", sent_at=days(-200), expires_at=days(-198)
    )
    Invitation.objects.create(  # window still open at as_of
        interaction=visit(alice, "online", days(-0.1)),
        customer=alice,
        status="delivered",
        sent_at=days(-0.05),
        expires_at=days(2),
    )
    case = Case.objects.create(
        response=case_on, customer=alice, priority="P2", sla_due_at=days(-18)
    )
    Case.objects.filter(pk=case.pk).update(opened_at=days(-19))

    answer(visit(carol, "online", days(-5)), 10, days(-5))
    return {"alice": alice, "bob": bob, "carol": carol}


def features_of(customer: Customer, as_of: datetime = AS_OF) -> dict[str, float]:
    found = features_matrix(as_of=as_of)
    row = found.matrix[list(found.customer_ids).index(customer.pk)]
    return dict(zip(FEATURES, row.tolist(), strict=True))


def test_interactions_count_by_touchpoint_and_window_before_the_cut_off(rows: Any) -> None:
    f = features_of(rows["alice"])
    assert f["visits_30d_hotline"] == 2  # -2 and -20 days; +1 day is after as_of
    assert f["visits_90d_hotline"] == 2
    assert f["visits_30d_store_own"] == 0
    assert f["visits_90d_store_own"] == 1
    assert f["visits_30d_online"] == 1  # -0.1 days; -200 days is outside 90
    assert f["repeats_7d"] == 2
    assert f["complaints_90d"] == 1
    assert f["days_since_last"] == pytest.approx(0.1, abs=1e-6)


def test_profile_answers_non_answers_and_cases(rows: Any) -> None:
    f = features_of(rows["alice"])
    assert (f["arpu"], f["arpu_trend_yuan"]) == (250.5, -30.0)
    assert (f["tier_A"], f["tier_B"], f["tier_C"]) == (1, 0, 0)
    assert f["tenure_days"] == pytest.approx(400, abs=1e-6)
    assert f["answers"] == 2  # the answer after as_of is not known yet
    assert f["answer_mean"] == 6.0
    assert (f["last_score"], f["last_detractor"], f["any_detractor"]) == (3, 1, 1)
    assert f["unanswered"] == 1
    assert (f["cases"], f["cases_unresolved"]) == (1, 1)


def test_recent_nps_of_the_touchpoints_and_region_used(rows: Any) -> None:
    # Answers in the 90 days: hotline 3 (alice), store_own 9 (alice), online 10 (carol).
    # Touchpoints: hotline -100, store_own +100, online +100; all: (2 - 1) / 3 = +33.3.
    # Regions: BJ (3, 9) 0, GZ (10) +100, SH none: all answers' +33.3.
    alice, bob, carol = (features_of(rows[n]) for n in ("alice", "bob", "carol"))
    assert alice["touchpoint_nps"] == pytest.approx((2 * -100 + 1 * 100 + 1 * 100) / 4)
    assert alice["region_nps"] == pytest.approx(0)
    assert carol["touchpoint_nps"] == pytest.approx(100)
    assert carol["region_nps"] == pytest.approx(100)
    assert bob["touchpoint_nps"] == pytest.approx(100 / 3)
    assert bob["region_nps"] == pytest.approx(100 / 3)


def test_a_customer_with_nothing_gets_the_documented_defaults(rows: Any) -> None:
    f = features_of(rows["bob"])
    assert sum(f[n] for n in FEATURES if n.startswith("visits_")) == 0
    assert f["days_since_last"] == 365
    assert (f["arpu"], f["arpu_trend_yuan"], f["tier_C"]) == (0, 0, 1)
    assert f["tenure_days"] == pytest.approx(10, abs=1e-6)
    assert (f["answers"], f["answer_mean"], f["last_score"], f["last_detractor"]) == (0, 7, 7, 0)
    assert (f["unanswered"], f["cases"]) == (0, 0)
    assert features_of(rows["carol"])["tenure_days"] == 0  # created after as_of


def test_a_later_cut_off_sees_the_later_rows(rows: Any) -> None:
    row = features_of(rows["alice"], as_of=days(3))
    assert row["visits_30d_hotline"] == 3
    assert row["answers"] == 3
    assert row["last_score"] == 10


def test_chunks_cover_every_customer_once_in_order(rows: Any) -> None:
    ids = [int(i) for c in features_iter(as_of=AS_OF, chunk=2) for i in c.customer_ids]
    assert ids == sorted(Customer.objects.values_list("pk", flat=True))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel parts: PostgreSQL pass")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("parts", [2, 3])
def test_parts_on_their_own_connections_give_the_one_query_result(parts: int) -> None:
    _rows()  # committed: the parts' connections see them
    for n in range(4):  # customers with nothing, spread over the id ranges
        CustomerFactory(region=f"R{n}")
    one = features_matrix(as_of=AS_OF)  # committed data, but parts=None under PARALLEL_FROM
    split = list(features_iter(as_of=AS_OF, chunk=100, parts=parts))
    assert len(split) == parts  # consecutive ids: each part holds some, in a chunk of its own
    ids = np.concatenate([c.customer_ids for c in split])
    assert ids.tolist() == sorted(Customer.objects.values_list("pk", flat=True))
    assert ids.tolist() == one.customer_ids.tolist()
    assert np.array_equal(np.concatenate([c.matrix for c in split]), one.matrix)
