"""The demo history's callback cases: one per detractor, worked as far as its age allows.

Written by nps.demo_history (see there); the newest cases are left waiting for an agent,
for a first call or on hold, older ones are resolved, verified and closed, a few were
unreachable. Callbacks get faster over the 90 days, as the scores get better.
"""

import math
import random
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar, cast

from django.contrib.auth.models import User
from django.db import models

from followups.businesshours import add_business_hours
from followups.cases import case_priority
from followups.models import (
    OPEN_STATUSES,
    Agent,
    Case,
    CaseEvent,
    CaseStatus,
    ContactAttempt,
    ContactOutcome,
    HoldReason,
    Team,
)
from followups.routing import team_for
from followups.sla import sla_target_hours, team_hours
from surveys.gateways.base import Composed
from surveys.models import (
    SURVEY_TEMPLATE,
    Category,
    Customer,
    GatewayPrice,
    Invitation,
    InvitationStatus,
    Purpose,
    ReasonCategory,
    Response,
)
from surveys.sendcost import Charge, Tariff, sms_charge
from surveys.texts import survey_text

HISTORY_SECONDS = 90 * 86400
T = TypeVar("T")
ACTIONS = {
    "waiting": "Apologised; explained the new call-back option",
    "network": "Opened a network ticket; engineer visit booked",
    "billing": "Refunded the overcharge",
    "attitude": "Apologised; feedback passed to the store manager",
    "process": "Completed the change for the customer by phone",
    "product": "Offered a better-suited plan",
}


def pick(rng: random.Random, weights: Mapping[T, float]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def bulk(model: type[models.Model], rows: list[Any]) -> list[Any]:
    return model._default_manager.bulk_create(rows, batch_size=500)


# The simulator's price in the demo, so the dashboard's SMS cost table has figures to show.
DEMO_PRICE_PER_SEGMENT = Decimal("0.0450")


def demo_charge(invitations: Iterable[Invitation]) -> None:
    """Give each invented survey SMS that went out the text, segments and cost a real send
    would have recorded (surveys.texts and surveys.sendcost, the rules a send uses)."""
    price, _ = GatewayPrice.objects.get_or_create(
        gateway="simulator", defaults={"price_per_segment": DEMO_PRICE_PER_SEGMENT}
    )
    tariff = Tariff(price_per_segment=price.price_per_segment)
    worded: dict[tuple[int, tuple[str, ...]], tuple[str, str, Charge]] = {}
    for invitation in invitations:
        if invitation.sent_at is None:
            continue
        customer, survey = invitation.customer, invitation.asked_survey
        key = (survey.pk, tuple(customer.languages))
        if key not in worded:
            text, language = survey_text(survey=survey, customer=customer)
            composed = Composed(text, SURVEY_TEMPLATE, language, {})
            worded[key] = (text, language, sms_charge(tariff, composed))
        text, language, charge = worded[key]
        invitation.text, invitation.language = text, language
        invitation.segments, invitation.cost = charge.segments, charge.cost


def cases_write(
    rng: random.Random,
    detractors: list[tuple[Response, list[str]]],
    reasons: dict[str, ReasonCategory],
    now: datetime,
) -> None:
    """A case for each detractor answer (with the reason codes of its comment), worked as
    far as its age allows; then its attempts, history and verification survey."""
    teams = {team.pk: team for team in Team.objects.all()}
    agents: dict[int, list[Agent]] = {}
    for agent in Agent.objects.select_related("user").order_by("pk"):
        agents.setdefault(agent.team_id, []).append(agent)
    hours = {pk: team_hours(team) for pk, team in teams.items()}
    targets: dict[tuple[str, str, str], float] = {}
    routes: dict[tuple[str, str, str], Team | None] = {}
    # How many detractor answers came after each: the newest cases are not worked yet.
    by_age = sorted((response.created_at, n) for n, (response, _) in enumerate(detractors))
    newer = {index: len(by_age) - 1 - n for n, (_, index) in enumerate(by_age)}
    cases, events, attempts = [], [], []
    root_causes: list[list[ReasonCategory]] = []
    verifications: list[tuple[Case, int, datetime]] = []
    for index, (response, codes) in enumerate(detractors):
        customer = response.customer
        route = (customer.region, customer.tier, response.interaction.touchpoint)
        if route not in routes:
            region, tier, touchpoint = route
            routes[route] = team_for(region=region, tier=tier, touchpoint=touchpoint)
        team = routes[route]
        if team is None:
            raise RuntimeError("the demo's teams cover every customer")
        team_agents = agents.get(team.pk, [])
        priority = case_priority(tier=customer.tier, score=response.score)
        due = []
        for clock in ("first_contact", "resolution"):
            key = (priority, clock, customer.tier)
            if key not in targets:
                targets[key] = sla_target_hours(priority, clock, tier=customer.tier)
            due.append(add_business_hours(response.created_at, targets[key], **hours[team.pk]))
        case = Case(
            response=response,
            customer=customer,
            priority=priority,
            team=team,
            sla_due_at=due[0],
            resolution_due_at=due[1],
            opened_at=response.created_at,
        )
        story = _story(rng, case, team_agents, codes, reasons, now, newest=newer[index])
        cases.append(case)
        events.append(story["events"])
        attempts.append(story["attempts"])
        root_causes.append(story.get("root_causes", []))
        if story.get("verification") is not None:
            verifications.append((case, *story["verification"]))
    _verifications(verifications)
    bulk(Case, cases)
    bulk(
        Case.root_causes.through,
        [
            Case.root_causes.through(case_id=case.pk, reasoncategory_id=cause.pk)
            for case, causes in zip(cases, root_causes, strict=True)
            for cause in causes
        ],
    )
    bulk(
        CaseEvent,
        [
            CaseEvent(case=case, at=at, kind=kind, actor=actor, detail=detail)
            for case, made_events in zip(cases, events, strict=True)
            for at, kind, actor, detail in made_events
        ],
    )
    bulk(
        ContactAttempt,
        [
            ContactAttempt(case=case, **attempt)
            for case, made_attempts in zip(cases, attempts, strict=True)
            for attempt in made_attempts
        ],
    )
    open_customers = {c.customer_id for c in cases if c.status in OPEN_STATUSES}
    Customer.objects.filter(pk__in=open_customers).update(in_callback=True)


def _story(
    rng: random.Random,
    case: Case,
    agents: list[Agent],
    codes: list[str],
    reasons: dict[str, ReasonCategory],
    now: datetime,
    *,
    newest: int,
) -> dict[str, Any]:
    """What happened to the case up to now: its fields set, its events and attempts.
    The newest few wait for an agent (`newest` < 3), for a first call (< 8), on hold after
    it (< 12), or were unreachable (< 15)."""
    opened = case.opened_at
    age = now - opened
    events: list[tuple[datetime, str, User | None, dict[str, Any]]] = [
        (opened, "opened", None, {"priority": case.priority, "score": case.response.score})
    ]
    story: dict[str, Any] = {"events": events, "attempts": []}
    if not agents or newest < 3:
        case.status = CaseStatus.NEW  # waiting for an agent
        return story
    agent = rng.choice(agents)
    assigned = opened + timedelta(minutes=rng.randint(1, 5))
    case.agent, case.assigned_at, case.status = agent, assigned, CaseStatus.ASSIGNED
    team_name = case.team.name if case.team else ""
    events.append((assigned, "assigned", None, {"agent": agent.name, "team": team_name}))
    # Callbacks get faster over the period: median ~3 h at the start, ~40 min at the end.
    speed = 180 - 140 * min(1.0, (HISTORY_SECONDS - age.total_seconds()) / HISTORY_SECONDS)
    first = assigned + timedelta(minutes=max(2, rng.lognormvariate(math.log(speed), 0.8)))
    # Three quick calls, nobody answers: the three after the held ones stay unreachable.
    tried_thrice = 12 <= newest < 15
    if tried_thrice:
        first = assigned + timedelta(minutes=5)
    if first > now or newest < 8:
        return story  # assigned, not called yet (overdue if past its due time)
    actor = agent.user
    outcomes = [ContactOutcome.REACHED]
    if rng.random() < 0.3:
        outcomes = [pick(rng, {ContactOutcome.NO_ANSWER: 3, ContactOutcome.BUSY: 1}), *outcomes]
    unreachable = tried_thrice or (rng.random() < 0.07 and newest >= 15)
    if unreachable:
        outcomes = [ContactOutcome.NO_ANSWER, ContactOutcome.BUSY, ContactOutcome.NO_ANSWER]
    at = first
    for outcome in outcomes:
        if at > now:
            break
        story["attempts"].append({"agent": agent, "at": at, "channel": "phone", "outcome": outcome})
        events.append((at, "attempt", actor, {"channel": "phone", "outcome": outcome}))
        case.first_attempt_at = case.first_attempt_at or at
        if case.status == CaseStatus.ASSIGNED:
            case.status = CaseStatus.IN_PROGRESS
            events.append((at, "started", actor, {}))
        if outcome == ContactOutcome.REACHED:
            case.first_contact_at = at
        last = at
        at += timedelta(minutes=15) if tried_thrice else timedelta(hours=rng.randint(2, 20))
    if unreachable and len(story["attempts"]) == 3:
        case.status = CaseStatus.UNREACHABLE
        events.append((last, "unreachable", actor, {"failed_attempts": 3, "automatic": True}))
        if not tried_thrice and last + timedelta(days=2) < now:  # closed by the agent
            case.status, case.closed_at = CaseStatus.CLOSED, last + timedelta(days=2)
            case.close_reason = "Three calls, no answer"
            events.append((case.closed_at, "closed", actor, {"reason": case.close_reason}))
        return story
    if case.first_contact_at is None:
        return story
    if newest < 12 or (rng.random() < 0.05 and age < timedelta(days=5)):
        case.held_since, case.hold_reason, case.hold_count = at, HoldReason.FIELD_VISIT, 1
        case.hold_note = "Engineer visit booked"
        events.append((at, "held", actor, {"reason": case.hold_reason, "note": case.hold_note}))
        return story
    resolved = case.first_contact_at + timedelta(hours=rng.uniform(0.5, 30))
    if resolved > now:
        return story  # in progress
    code = codes[0] if codes else pick(rng, dict.fromkeys(ACTIONS, 1))
    case.status, case.resolved_at = CaseStatus.RESOLVED, resolved
    story["root_causes"] = [cause for cause in [reasons.get(code)] if cause is not None]
    case.action_taken, case.resolution_note = ACTIONS[code], "Customer accepted the solution."
    detail = {"root_cause": [code], "action_taken": case.action_taken, "note": case.resolution_note}
    events.append((resolved, "resolved", actor, detail))
    verify_at = resolved + timedelta(days=7)
    if verify_at < now:
        case.verification_due_at = verify_at
        # Recovered more often as callbacks got faster.
        score = rng.choice((8, 9, 10, 9)) if rng.random() < 0.65 else rng.choice((3, 5, 6, 7))
        answers = rng.random() < 0.6
        story["verification"] = (score if answers else -1, verify_at)
        if answers:
            case.verification_score, case.recovered = score, score >= 7
            events.append(
                (
                    verify_at + timedelta(hours=2),
                    "verified",
                    None,
                    {"score": score, "recovered": score >= 7},
                )
            )
        case.status, case.closed_at = CaseStatus.CLOSED, resolved + timedelta(days=1)
        case.close_reason = "Resolved with the customer"
        events.append((case.closed_at, "closed", actor, {"reason": case.close_reason}))
    return story


def _verifications(rows: Iterable[tuple[Case, int, datetime]]) -> None:
    """The verification survey of each resolved case old enough, answered or expired."""
    made = []
    for case, score, at in rows:
        response = case.response
        invitation = Invitation(
            interaction=response.interaction,
            customer=case.customer,
            survey=response.invitation.survey,
            purpose=Purpose.VERIFICATION,
            language=response.invitation.language,
            send_at=at,
            sent_at=at,
            delivered_at=at + timedelta(seconds=5),
            attempts=1,
            gateway="simulator",
            expires_at=at + timedelta(hours=48),
            created_at=at,
            status=InvitationStatus.EXPIRED if score < 0 else InvitationStatus.RESPONDED,
            responded_at=None if score < 0 else at + timedelta(hours=2),
        )
        made.append((case, invitation, score))
    demo_charge(invitation for _, invitation, _ in made)
    bulk(Invitation, [invitation for _, invitation, _ in made])
    answers = [
        Response(
            invitation=invitation,
            customer=case.customer,
            interaction=invitation.interaction,
            score=score,
            category=Category.for_score(score),
            created_at=cast(datetime, invitation.responded_at),  # set for every answer
        )
        for case, invitation, score in made
        if score >= 0
    ]
    bulk(Response, answers)
    for case, invitation, _ in made:
        case.verification_invitation = invitation
