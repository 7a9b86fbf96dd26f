"""Verification of problems from the rollups: the reason's detractor share in the place,
before the problem against after the fix, with the one-sided test at 95 %."""

from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import transaction

from followups.models import Problem, ProblemEvent, ProblemStatus
from followups.problems import (
    problem_open,
    problem_rectified,
    problem_rectifying_start,
)
from nps.models import DeliveryStatus, EventType, WebhookDelivery
from nps.outbound import events
from nps.problem_checks import problem_check, problems_check
from nps.reporting.refresh import rollups_refresh_day
from surveys.models import (
    Category,
    Customer,
    Interaction,
    Invitation,
    InvitationStatus,
    ReasonCategory,
    Response,
    ResponseReason,
    Unit,
    UnitKind,
)
from tests.factories import CustomerFactory, InteractionFactory
from tests.nps.outbound_world import subscription

pytestmark = pytest.mark.django_db

OPENED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai, local day 1 March
FIXED = datetime(2026, 3, 5, 4, 0, tzinfo=UTC)  # 12:00 local: "after" starts on 6 March
BEFORE_DAY = datetime(2026, 2, 10, 4, 0, tzinfo=UTC)  # inside the 28 days before 1 March
AFTER_DAY = datetime(2026, 3, 8, 4, 0, tzinfo=UTC)
TODAY = date(2026, 3, 12)  # 6..12 March: the seven days the after window needs


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    """A city branch with a store under it, another city, the signal and billing reasons."""
    province = Unit.objects.create(name="Province", kind=UnitKind.PROVINCE)
    city = Unit.objects.create(name="Lhasa", kind=UnitKind.CITY, parent=province)
    store = Unit.objects.create(name="Store 1", kind=UnitKind.STORE, parent=city)
    other = Unit.objects.create(name="Shigatse", kind=UnitKind.CITY, parent=province)
    reasons = {
        code: ReasonCategory.objects.get_or_create(
            code=code, defaults={"name_en": code, "name_zh": code}
        )[0]
        for code in ("signal", "billing")
    }
    person = User.objects.create_user("sue")
    return {"city": city, "store": store, "other": other, "person": person, **reasons}


def answer(
    at: datetime, score: int, unit: Unit, *reasons: ReasonCategory, touchpoint: str = "hotline"
) -> None:
    customer = cast(Customer, CustomerFactory(region="XZ"))
    interaction = cast(
        Interaction,
        InteractionFactory(customer=customer, touchpoint=touchpoint, unit=unit, occurred_at=at),
    )
    invitation = Invitation.objects.create(
        interaction=interaction, customer=customer, status=InvitationStatus.RESPONDED,
        sent_at=at, delivered_at=at, responded_at=at,
    )  # fmt: skip
    response = Response.objects.create(
        invitation=invitation, customer=customer, interaction=interaction, score=score,
        category=Category.for_score(score),
    )  # fmt: skip
    Response.objects.filter(pk=response.pk).update(created_at=at)
    for reason in reasons:
        ResponseReason.objects.create(response=response, category=reason)


def answers(
    at: datetime, unit: Unit, *, signal: int, billing: int, promoters: int, w: dict[str, Any]
) -> None:
    for _ in range(signal):
        answer(at, 2, unit, w["signal"])
    for _ in range(billing):
        answer(at, 3, unit, w["billing"])
    for _ in range(promoters):
        answer(at, 10, unit)


def refresh(*moments: datetime) -> None:
    for day in sorted({(m + timedelta(hours=8)).date() for m in moments}):
        rollups_refresh_day(day=day)


def verifying_problem(w: dict[str, Any]) -> Problem:
    with time_machine.travel(OPENED, tick=False):
        problem = problem_open(
            title="Weak signal in Lhasa", responsible_unit=w["city"], reason=w["signal"],
            place_unit=w["city"], touchpoint="hotline",
        )  # fmt: skip
        problem_rectifying_start(problem, by=w["person"])
    with time_machine.travel(FIXED, tick=False):
        problem_rectified(problem, by=w["person"])
    return problem


def noise(w: dict[str, Any]) -> list[datetime]:
    """Answers that are not in the windows or not in the place: none of them may count."""
    answers(BEFORE_DAY, w["other"], signal=5, billing=0, promoters=0, w=w)  # another city
    answers(AFTER_DAY, w["other"], signal=5, billing=0, promoters=0, w=w)
    answer(AFTER_DAY, 2, w["store"], w["signal"], touchpoint="store")  # another touchpoint
    answer(FIXED, 2, w["store"], w["signal"])  # the day of the fix: neither window
    answer(OPENED, 2, w["store"], w["signal"])  # the day it was opened: not "before"
    return [BEFORE_DAY, AFTER_DAY, FIXED, OPENED]


def test_a_significant_fall_proposes_the_closure_with_the_figures(world: dict[str, Any]) -> None:
    problem = verifying_problem(world)
    # before: 40 answers in the city's subtree, 12 of them detractors naming the signal (30 %)
    answers(BEFORE_DAY, world["store"], signal=12, billing=8, promoters=10, w=world)
    answers(BEFORE_DAY, world["city"], signal=0, billing=0, promoters=10, w=world)
    # after: 40 answers, 3 naming the signal (7.5 %)
    answers(AFTER_DAY, world["store"], signal=3, billing=0, promoters=37, w=world)
    refresh(*noise(world))
    with time_machine.travel(datetime(2026, 3, 12, 4, 0, tzinfo=UTC), tick=False):
        assert problem_check(problem, today=TODAY)
    problem.refresh_from_db()
    assert (problem.before_detractors, problem.before_answers) == (12, 40)
    assert (problem.after_detractors, problem.after_answers) == (3, 40)
    # pooled 15/80 = 0.1875; se = sqrt(0.1875 * 0.8125 * (1/40 + 1/40)) = 0.08728;
    # z = (0.075 - 0.300) / 0.08728 = -2.578; one-sided p = Phi(-2.578) = 0.00497
    assert problem.p_value == pytest.approx(0.00497, abs=1e-5)
    assert problem.close_proposed_at is not None
    assert problem.status == ProblemStatus.VERIFYING  # a person closes it
    assert ProblemEvent.objects.filter(problem=problem, kind="closure_proposed").count() == 1


def test_a_fall_within_noise_stores_the_figures_and_proposes_nothing(world: dict[str, Any]) -> None:
    problem = verifying_problem(world)
    answers(BEFORE_DAY, world["store"], signal=12, billing=0, promoters=28, w=world)
    answers(AFTER_DAY, world["store"], signal=11, billing=0, promoters=29, w=world)
    refresh(BEFORE_DAY, AFTER_DAY)
    assert problem_check(problem, today=TODAY)
    problem.refresh_from_db()
    assert (problem.before_detractors, problem.after_detractors) == (12, 11)
    # pooled 23/80; z = (0.275 - 0.300) / 0.1012 = -0.247; p = Phi(-0.247) = 0.4024
    assert problem.p_value == pytest.approx(0.4024, abs=1e-4)
    assert problem.close_proposed_at is None


def test_a_short_or_thin_after_window_waits(world: dict[str, Any]) -> None:
    problem = verifying_problem(world)
    answers(BEFORE_DAY, world["store"], signal=12, billing=0, promoters=28, w=world)
    answers(AFTER_DAY, world["store"], signal=0, billing=0, promoters=20, w=world)  # 20 < 30
    refresh(BEFORE_DAY, AFTER_DAY)
    assert not problem_check(problem, today=date(2026, 3, 11))  # six days only
    assert not problem_check(problem, today=TODAY)  # seven days, too few answers
    problem.refresh_from_db()
    assert problem.verified_at is None


def test_the_task_checks_only_verifying_problems(world: dict[str, Any]) -> None:
    verifying_problem(world)
    open_problem = problem_open(title="Billing", responsible_unit=world["city"])
    answers(BEFORE_DAY, world["store"], signal=12, billing=0, promoters=28, w=world)
    answers(AFTER_DAY, world["store"], signal=0, billing=0, promoters=40, w=world)
    refresh(BEFORE_DAY, AFTER_DAY)
    with time_machine.travel(datetime(2026, 3, 12, 4, 0, tzinfo=UTC), tick=False):
        assert problems_check() == 1
    open_problem.refresh_from_db()
    assert open_problem.verified_at is None


def test_a_problem_move_writes_a_delivery_for_problem_changed_subscribers(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "task_queue", lambda *args, **kwargs: None)
    hook = subscription("http://127.0.0.1:9/p", events=[EventType.PROBLEM_CHANGED])
    subscription("http://127.0.0.1:9/c", events=[EventType.CASE_OPENED])  # not this event
    owner = User.objects.create_user("owen", email="owen@example.com")
    problem = problem_open(title="Weak signal", responsible_unit=world["city"], owner=owner)
    with transaction.atomic():
        problem_rectifying_start(problem, by=world["person"])
        moved = WebhookDelivery.objects.filter(payload__event="moved")
        assert moved.count() == 1  # written in the transaction of the move
    rows = WebhookDelivery.objects.filter(event_type=EventType.PROBLEM_CHANGED).order_by("pk")
    assert [(r.subscription_id, r.payload["event"]) for r in rows] == [
        (hook.pk, "opened"), (hook.pk, "moved"),
    ]  # fmt: skip
    payload = rows[1].payload
    assert payload["problem_id"] == problem.pk
    assert payload["status"] == "rectifying"
    assert payload["responsible_unit"] == {"id": world["city"].pk, "name": "Lhasa"}
    assert payload["deadline"] == problem.deadline.isoformat()
    assert "owen" not in str(payload)  # no personal data
    assert rows[1].status == DeliveryStatus.PENDING


def test_a_rolled_back_move_leaves_no_delivery(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "task_queue", lambda *args, **kwargs: None)
    subscription("http://127.0.0.1:9/p", events=[EventType.PROBLEM_CHANGED])
    problem = problem_open(title="Weak signal", responsible_unit=world["city"])

    def move_then_fail() -> None:
        with transaction.atomic():
            problem_rectifying_start(problem, by=world["person"])
            raise RuntimeError("the surrounding work failed")

    with pytest.raises(RuntimeError):
        move_then_fail()
    assert not WebhookDelivery.objects.filter(payload__event="moved").exists()
