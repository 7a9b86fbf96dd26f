"""The risk model on generated customers with a known signal, and on customers with none."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.db import connection

from care import risk
from care.features import FEATURES
from care.models import PoolMember, PoolPolicy, RiskModel, RiskScore
from surveys.models import Customer, Interaction, Invitation, Response, Touchpoint
from surveys.models.responses import Category

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
CUSTOMERS = 1200
DAYS = 150  # interactions and answers from NOW - 150 days to NOW
TOUCHPOINTS = list(Touchpoint.values)


def insert(model: Any, rows: list[dict[str, Any]]) -> None:
    """Raw rows in one executemany (the ORM's bulk_create is too slow for a fast test)."""
    now = connection.ops.adapt_datetimefield_value(NOW)
    fields = model._meta.concrete_fields
    fill = {
        f.column: f.get_default() if f.has_default() else (None if f.null else "") for f in fields
    }
    fill |= {"created_at": now, "updated_at": now}
    columns = [f.column for f in fields]
    values = [
        [
            connection.ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v
            for v in ({**fill, **row}[c] for c in columns)
        ]
        for row in rows
    ]
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
            values,
        )


def generate(*, signal: bool, seed: int = 7) -> None:
    """Customers with a hidden discontent d ~ N(0, 1) that shows in their data (or does not).

    d lowers the ARPU trend (-25 yuan per unit, the rule sees only whether it fell), raises
    the visits to agents' stores (the rule does not look at them) and, a little, the
    complaint rate. With a signal, an answer is a detractor with probability
    sigmoid(-1 + 2 d); without, with probability 0.3 whatever d. Each customer answers
    once in a 30-day period with probability 0.4.
    """
    rng = np.random.default_rng(seed)
    d = rng.normal(size=CUSTOMERS)
    trend = -25 * d + rng.normal(scale=10, size=CUSTOMERS)
    customers = Customer.objects.bulk_create(
        Customer(
            phone=f"+8613900{i:06d}",
            tier="ABC"[i % 3],
            region=("BJ", "SH", "GZ")[i % 3],
            arpu=Decimal(100 + i % 150),
            arpu_trend_yuan=Decimal(f"{trend[i]:.2f}"),
        )
        for i in range(CUSTOMERS)
    )
    ids = np.array([c.pk for c in customers])
    # Interactions: services at 1 a month, complaints at 0.3 a month × e^(0.3 d).
    services = rng.poisson(1.0 * DAYS / 30, size=CUSTOMERS)
    complaints = rng.poisson(0.3 * DAYS / 30 * np.exp(0.3 * d))
    who = np.repeat(np.arange(CUSTOMERS), services + complaints)
    is_complaint = np.concatenate(
        [np.arange(s + c) >= s for s, c in zip(services, complaints, strict=True)]
    )
    agent = rng.random(len(who)) < 1 / (1 + np.exp(-(d[who] - 1)))
    touchpoint = np.where(agent, "store_agent", rng.choice(TOUCHPOINTS, size=len(who)))
    ago = rng.uniform(0, DAYS, size=len(who))
    # Answers: one per customer and 30-day period with probability 0.4.
    periods = DAYS // 30
    answered = rng.random((CUSTOMERS, periods)) < 0.4
    a_who, a_period = np.nonzero(answered)
    a_ago = a_period * 30 + rng.uniform(0.1, 29.9, size=len(a_who))
    p = 1 / (1 + np.exp(1 - 2 * d[a_who])) if signal else np.full(len(a_who), 0.3)
    detractor = rng.random(len(a_who)) < p
    score = np.where(detractor, rng.integers(0, 7, len(a_who)), rng.integers(7, 11, len(a_who)))
    a_tp = rng.choice(TOUCHPOINTS, size=len(a_who))
    n = len(who)
    insert(
        Interaction,
        [
            {
                "id": k + 1,
                "external_id": f"G-{k}",
                "customer_id": int(ids[who[k]]),
                "touchpoint": str(touchpoint[k]),
                "kind": "complaint" if is_complaint[k] else "service",
                "occurred_at": NOW - timedelta(days=float(ago[k])),
            }
            for k in range(n)
        ]
        + [
            {
                "id": n + k + 1,
                "external_id": f"A-{k}",
                "customer_id": int(ids[a_who[k]]),
                "touchpoint": str(a_tp[k]),
                "occurred_at": NOW - timedelta(days=float(a_ago[k]), hours=1),
            }
            for k in range(len(a_who))
        ],
    )
    at = [NOW - timedelta(days=float(x)) for x in a_ago]
    insert(
        Invitation,
        [
            {
                "id": k + 1,
                "interaction_id": n + k + 1,
                "customer_id": int(ids[a_who[k]]),
                "status": "responded",
                "sent_at": at[k] - timedelta(minutes=30),
                "expires_at": at[k] + timedelta(days=2),
                "responded_at": at[k],
            }
            for k in range(len(a_who))
        ],
    )
    insert(
        Response,
        [
            {
                "id": k + 1,
                "invitation_id": k + 1,
                "customer_id": int(ids[a_who[k]]),
                "interaction_id": n + k + 1,
                "score": int(score[k]),
                "category": Category.for_score(int(score[k])).value,
                "created_at": at[k],
                "updated_at": at[k],
            }
            for k in range(len(a_who))
        ],
    )


# ---------------------------------------------------------------- measures by hand


def test_hanley_mcneil_interval_of_a_known_auc() -> None:
    # A = 0.75, 10 detractors, 20 others: Q1 = 0.6, Q2 = 0.642857;
    # SE² = (0.1875 + 9 × 0.0375 + 19 × 0.080357) / 200 = 0.0102589, SE = 0.101286.
    low, high = risk.auc_interval(0.75, 10, 20)
    assert low == pytest.approx(0.75 - 1.959964 * 0.101286, abs=1e-5)
    assert high == pytest.approx(0.75 + 1.959964 * 0.101286, abs=1e-5)


def test_precision_at_a_share_splits_ties_at_the_cut() -> None:
    # Top 2 of 4: the 3, then one of the two 2s (half a detractor on average).
    scores, labels = np.array([3.0, 2.0, 2.0, 1.0]), np.array([1.0, 0.0, 1.0, 0.0])
    assert risk.precision_at(scores, labels, 0.5) == 0.75
    assert risk.precision_at(scores, labels, 0.25) == 1.0


def test_rule_score_adds_the_documented_points() -> None:
    row = np.zeros((1, len(FEATURES)))
    values = {
        "complaints_90d": 2,
        "repeats_7d": 1,
        "last_detractor": 1,
        "cases_unresolved": 1,
        "arpu_trend_yuan": -5,
    }
    for name, value in values.items():
        row[0, FEATURES.index(name)] = value
    assert risk.rule_score(row)[0] == 3 * 2 + 1 + 3 + 2 + 2


# ---------------------------------------------------------------- on generated data


@pytest.fixture
def with_signal(db: Any) -> None:
    generate(signal=True)


@pytest.fixture
def without_signal(db: Any) -> None:
    generate(signal=False)


def test_a_model_finds_the_signal_and_beats_the_rule_on_a_later_period(with_signal: Any) -> None:
    model = risk.risk_train(now=NOW)
    assert model.has_signal
    assert model.is_active
    assert model.trained_to == NOW - timedelta(days=30) == model.validated_to - timedelta(days=30)
    assert model.validation_positives >= risk.MIN_POSITIVES
    assert model.auc is not None
    assert model.rule_auc is not None
    assert model.auc > model.rule_auc
    assert model.parameters["auc_interval"][0] > 0.5
    assert model.precision_top5 > model.rule_precision_top5
    # Top decile on the validation customers (features as of T2, answers after it).
    valid = risk._labelled(as_of=NOW - timedelta(days=30), until=NOW)
    top10 = risk.precision_at(
        risk.risk_probability(model.parameters, valid.matrix), valid.labels, 0.1
    )
    rule10 = risk.precision_at(risk.rule_score(valid.matrix), valid.labels, 0.1)
    assert top10 > rule10
    weights = dict(zip(model.parameters["features"], model.parameters["coef"], strict=True))
    assert weights["arpu_trend_yuan"] < 0  # a falling ARPU raises the risk
    assert weights["complaints_90d"] > 0


def test_without_a_signal_the_model_claims_none_and_scores_no_one(without_signal: Any) -> None:
    model = risk.risk_train(now=NOW)
    assert not model.has_signal
    assert not model.is_active
    assert model.parameters["auc_interval"][0] <= 0.5
    assert risk.risk_score_all(now=NOW) == 0
    assert not RiskScore.objects.exists()
    assert not PoolMember.objects.exists()


def test_scores_name_the_model_and_the_riskiest_enter_with_their_factors(with_signal: Any) -> None:
    model = risk.risk_train(now=NOW)
    assert risk.risk_score_all(now=NOW) == CUSTOMERS
    assert RiskScore.objects.filter(risk_model=model).count() == CUSTOMERS
    members = PoolMember.objects.filter(reason="model", left_at__isnull=True)
    assert members.count() == round(0.05 * CUSTOMERS)
    lowest_member = min(m.risk for m in members)
    outside = RiskScore.objects.exclude(customer__pool_stays__in=members)
    assert outside.filter(score__gt=lowest_member).count() == 0
    member = members.order_by("-risk").first()
    assert member is not None
    assert (member.kind, member.risk_model, member.entered_at) == ("potential", model, NOW)
    assert member.risk == RiskScore.objects.get(customer=member.customer).score
    assert 1 <= len(member.factors) <= 3
    contributions = [f["contribution"] for f in member.factors]
    assert contributions == sorted(contributions, reverse=True)
    assert contributions[-1] > 0
    assert {f["feature"] for f in member.factors} <= set(FEATURES)


def test_scoring_again_opens_no_second_stay(with_signal: Any) -> None:
    risk.risk_train(now=NOW)
    risk.risk_score_all(now=NOW)
    risk.risk_score_all(now=NOW + timedelta(hours=1))
    assert PoolMember.objects.count() == round(0.05 * CUSTOMERS)


def test_a_customer_no_longer_in_the_top_share_leaves_because_the_risk_fell(
    with_signal: Any,
) -> None:
    risk.risk_train(now=NOW)
    risk.risk_score_all(now=NOW)
    PoolPolicy.objects.filter(pk=PoolPolicy.current().pk).update(potential_share=0.01)
    later = NOW + timedelta(days=1)
    risk.risk_score_all(now=later)
    still = PoolMember.objects.filter(reason="model", left_at__isnull=True)
    left = PoolMember.objects.filter(reason="model", left_at=later)
    assert still.count() == round(0.01 * CUSTOMERS)
    assert left.count() == round(0.05 * CUSTOMERS) - round(0.01 * CUSTOMERS)
    assert set(left.values_list("exit_reason", flat=True)) == {"risk_fell"}
    cut = min(
        RiskScore.objects.filter(customer__pool_stays__in=still).values_list("score", flat=True)
    )
    assert RiskScore.objects.filter(customer__pool_stays__in=left, score__gte=cut).count() == 0


def test_a_new_model_with_a_signal_replaces_the_one_in_use(with_signal: Any) -> None:
    first = risk.risk_train(now=NOW - timedelta(days=1))
    second = risk.risk_train(now=NOW)
    assert first.has_signal
    assert second.has_signal
    assert list(RiskModel.objects.filter(is_active=True)) == [second]


# ---------------------------------------------------------------- admin


def test_the_admin_shows_a_version_with_its_weights_in_words(admin_client: Any) -> None:
    model = RiskModel.objects.create(
        algorithm=risk.ALGORITHM,
        trained_from=NOW - timedelta(days=60),
        trained_to=NOW - timedelta(days=30),
        validated_to=NOW,
        train_size=900,
        validation_size=800,
        validation_positives=200,
        auc=0.8,
        precision_top1=0.9,
        precision_top5=0.6,
        rule_auc=0.7,
        rule_precision_top1=0.5,
        rule_precision_top5=0.4,
        has_signal=True,
        parameters={"features": ["complaints_90d", "arpu"], "coef": [0.5, -1.25]},
    )
    listing = admin_client.get("/admin/care/riskmodel/").content.decode()
    assert "0.800" in listing
    assert "60.0%" in listing
    assert "1.50×" in listing  # 0.6 / 0.4
    page = admin_client.get(f"/admin/care/riskmodel/{model.pk}/change/").content.decode()
    assert page.index("Monthly ARPU (yuan)") < page.index("Complaints in 90 days")  # |1.25| first
    assert "-1.250" in page
    assert "lowers the risk" in page


def test_train_now_queues_a_training_run(
    admin_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert "Train now" in admin_client.get("/admin/care/riskmodel/").content.decode()
    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post("/admin/care/riskmodel/train/")
    assert response.status_code == 302
    assert len(queued) == 1
