"""The batch reply path (replies_process) against the one-at-a-time path (reply_process).

replies_process understands a relayed batch a chunk per transaction and records first
scores set-based (responses, cases, SMS inserted together). Whatever it does, the result
must be what reply_process gives message by message: the same outcomes, responses,
reasons, invitation statuses, cases with their priority, team, due times and history,
conversation SMS and customer flags. Two identical populations of customers are built;
one's replies go one at a time, the other's as one batch; their states are compared.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import override_settings

from followups.models import Case, CaseEvent, Team
from surveys.consent import consent_change
from surveys.dispatch import invitation_send
from surveys.gateways.base import InboundSMS
from surveys.interactions import interaction_record
from surveys.models import (
    ConsentSource,
    Customer,
    InboundMessage,
    Invitation,
    OutboundMessage,
    Response,
    ResponseReason,
)
from surveys.replies import replies_process, reply_process, reply_store

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)

# Per customer: (tier, language, texts answered before the batch, texts in the batch).
SCENARIOS: list[tuple[str, str, list[str], list[str]]] = [
    ("B", "zh-hans", [], ["9"]),  # promoter: thank-you
    ("C", "zh-hans", [], ["7"]),  # passive: care message
    ("A", "zh-hans", [], ["3 排队太久"]),  # detractor with a reason: case, callback promise
    ("B", "zh-hans", [], ["2"]),  # detractor, no reason: case, "why?"
    ("C", "zh-hans", [], ["3", "信号太差"]),  # score then reason in one batch
    ("B", "zh-hans", ["你好"], ["8"]),  # earlier words become the comment
    ("A", "zh-hans", [], ["TD"]),  # opt-out keyword
    ("B", "zh-hans", ["TD"], ["9"]),  # an opted-out customer's score: kept, not answered
    ("C", "zh-hans", ["3"], ["8"]),  # a correction of an answered survey
    ("A", "bo", [], ["10 ཞབས་ཞུ་ཡག་པོ"]),  # Tibetan promoter with words
    ("C", "en", [], ["1 far too slow"]),  # English detractor with a reason
    ("B", "bo-zh", [], ["0"]),  # bilingual detractor, no reason
    ("A", "zh-hans", [], ["帮助"]),  # help keyword
]
UNKNOWN = "+8613900000999"


def _population(prefix: int) -> list[str]:
    """The scenarios' customers, each with a sent survey; returns their phones."""
    phones = []
    with time_machine.travel(NOW, tick=False), override_settings(NPS_SEND_GATEWAY="console"):
        for index, (tier, language, _, _) in enumerate(SCENARIOS):
            phone = f"+86138{prefix}{index:07d}"
            recorded = interaction_record(
                external_id=f"CRM-{prefix}-{index}",
                customer={"phone": phone, "tier": tier, "region": "BJ", "language": language},
                touchpoint="hotline",
                occurred_at=NOW,
            )
            invitation_send(invitation_id=recorded.interaction.invitations.get().pk)
            phones.append(phone)
    return phones


def _store(phone: str, text: str, key: str) -> int:
    stored = reply_store(gateway="simulator", sms=InboundSMS(key, phone, text))
    return stored.message.pk


def _answer(phones: list[str], *, batch: bool) -> None:
    """Answer every scenario: the earlier texts one by one, then the batch texts (with an
    unknown sender among them) one by one or as one batch."""
    with time_machine.travel(LATER, tick=False):
        for phone, (_, _, before, _) in zip(phones, SCENARIOS, strict=True):
            for n, text in enumerate(before):
                reply_process(message_id=_store(phone, text, f"{phone}-before-{n}"))
        ids = []
        for n in range(2):  # the second texts after all the first: two per customer at most
            for phone, (_, _, _, texts) in zip(phones, SCENARIOS, strict=True):
                if n < len(texts):
                    ids.append(_store(phone, texts[n], f"{phone}-batch-{n}"))
        ids.append(_store(UNKNOWN if batch else UNKNOWN[:-1] + "8", "9", f"unknown-{batch}"))
        if batch:
            outcomes = replies_process(message_ids=ids)
            assert "error" not in outcomes
        else:
            for pk in ids:
                reply_process(message_id=pk)


def _state(phones: list[str]) -> list[dict[str, Any]]:
    """What each customer's replies led to, without ids or phones."""
    state = []
    for phone in phones:
        customer = Customer.objects.get(phone=phone)
        invitation = Invitation.objects.get(customer=customer)
        response = Response.objects.filter(invitation=invitation).first()
        case = Case.objects.filter(customer=customer).first()
        state.append(
            {
                "outcomes": list(
                    InboundMessage.objects.filter(phone=phone)
                    .order_by("pk")
                    .values_list("text", "outcome", "invitation_id")
                ),
                "response": response
                and (response.score, response.category, response.comment, response.message.text),
                "reasons": sorted(
                    ResponseReason.objects.filter(response__customer=customer).values_list(
                        "category__code", "keyword"
                    )
                ),
                "invitation": (invitation.status, invitation.responded_at),
                "case": case
                and (
                    case.priority,
                    case.team.name if case.team else None,
                    case.status,
                    case.sla_due_at,
                    case.resolution_due_at,
                    sorted(
                        (e.kind, sorted(e.detail.items()))
                        for e in CaseEvent.objects.filter(case=case)
                    ),
                ),
                "sms": sorted(
                    OutboundMessage.objects.filter(customer=customer).values_list(
                        "kind", "language", "text", "status", "invitation_id", "trigger_id"
                    ),
                    key=repr,
                ),
                "customer": (customer.in_callback, customer.opted_out_at is not None),
            }
        )
    return state


def _without_ids(state: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ids become "set"/None, so two populations compare."""
    for entry in state:
        entry["outcomes"] = [(t, o, i is not None) for t, o, i in entry["outcomes"]]
        entry["sms"] = [(*row[:4], row[4] is not None, row[5] is not None) for row in entry["sms"]]
    return state


def test_a_batch_gives_what_one_reply_at_a_time_gives(survey: Any) -> None:
    Team.objects.create(name="Beijing", regions=["BJ"])
    with time_machine.travel(NOW, tick=False):
        opted_out = []
        for prefix in (1, 2):
            phones = _population(prefix)
            opted_out.append(phones)
    one_at_a_time, batch = opted_out
    _answer(one_at_a_time, batch=False)
    _answer(batch, batch=True)

    expected, got = _without_ids(_state(one_at_a_time)), _without_ids(_state(batch))
    for scenario, want, have in zip(SCENARIOS, expected, got, strict=True):
        assert have == want, scenario
    # The comparison is about something: the scenarios took every path.
    outcomes = {o for entry in got for _, o, _ in entry["outcomes"]}
    assert {"scored", "commented", "opted_out", "opted_out_customer", "rescored", "help"} <= (
        outcomes
    )
    cases = Case.objects.filter(customer__phone__in=batch)
    assert cases.count() == 6  # five detractors, and the corrected one's case closed
    assert cases.filter(closed_by_correction=True).count() == 1
    kinds = {row[0] for entry in got for row in entry["sms"]}
    assert {"thanks", "care", "callback_promise", "followup_question"} <= kinds
    unknown = InboundMessage.objects.get(phone=UNKNOWN)
    assert unknown.outcome == "unknown_sender"


def test_a_batch_answers_each_first_score_in_a_few_statements(
    survey: Any, django_assert_max_num_queries: Any
) -> None:
    """Forty plain first scores: the statements do not grow with the replies."""
    Team.objects.create(name="Beijing", regions=["BJ"])
    phones = []
    with time_machine.travel(NOW, tick=False), override_settings(NPS_SEND_GATEWAY="console"):
        for n in range(40):
            recorded = interaction_record(
                external_id=f"CRM-many-{n}",
                customer={"phone": f"+8613700{n:06d}", "tier": "B", "region": "BJ"},
                touchpoint="hotline",
                occurred_at=NOW,
            )
            invitation_send(invitation_id=recorded.interaction.invitations.get().pk)
            phones.append(f"+8613700{n:06d}")
    with time_machine.travel(LATER, tick=False):
        ids = [
            _store(phone, "9" if n % 5 else "3 排队太久", f"many-{n}")
            for n, phone in enumerate(phones)
        ]
        with django_assert_max_num_queries(60):
            outcomes = replies_process(message_ids=ids)
    assert outcomes == ["scored"] * 40
    assert Response.objects.count() == 40
    assert Case.objects.count() == 8
    assert OutboundMessage.objects.count() == 40


def test_a_reply_waits_for_its_customers_earlier_reply_in_another_batch(survey: Any) -> None:
    """Order per customer: the reason sent after the score is not read before it, even when
    the two are relayed in different batches and the later batch runs first."""
    (phone,) = _population(3)[:1]
    with time_machine.travel(LATER, tick=False):
        score = _store(phone, "3", "order-1")
        reason = _store(phone, "排队太久", "order-2")
        InboundMessage.objects.filter(pk__in=[score, reason]).update(enqueued_at=LATER)
        assert replies_process(message_ids=[reason]) == ["waits_for_earlier"]
        waiting = InboundMessage.objects.get(pk=reason)
        assert waiting.processed_at is None
        assert waiting.enqueued_at is None  # the next relay round hands it out again
        assert replies_process(message_ids=[score]) == ["scored"]
        assert replies_process(message_ids=[reason]) == ["commented"]
    response = Response.objects.get(customer__phone=phone)
    assert (response.score, response.comment) == (3, "排队太久")


def test_an_earlier_reply_stuck_for_long_holds_nothing_back(survey: Any) -> None:
    (phone,) = _population(4)[:1]
    with time_machine.travel(LATER, tick=False):
        _store(phone, "你好", "stuck-1")  # never processed (say it fails every time)
    with time_machine.travel(LATER + timedelta(minutes=10), tick=False):
        later = _store(phone, "9", "stuck-2")
        assert replies_process(message_ids=[later]) == ["scored"]


def test_opting_out_before_a_batch_is_respected_by_it(survey: Any) -> None:
    (phone,) = _population(5)[:1]
    customer = Customer.objects.get(phone=phone)
    consent_change(customer=customer, opted_out=True, source=ConsentSource.STAFF)
    with time_machine.travel(LATER, tick=False):
        pk = _store(phone, "9", "after-opt-out")
        assert replies_process(message_ids=[pk]) == ["opted_out_customer"]
    assert not Response.objects.exists()
    assert not OutboundMessage.objects.filter(customer=customer).exists()
