"""Retention and erasure: every personal field goes, the figures stay, one customer still joins.

Each customer's history is built through the services (interaction, survey sent, receipts,
a reply, the "why?" question and its answer, a case assigned, escalated, called, resolved
and closed, the admin's history of the customer, a digest that failed) so the database
holds every kind of row. Then every row of every model of both apps (and the admin's
history) is serialised and searched for the personal values.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict
from django.test import override_settings

from followups.assignment import case_assign
from followups.escalation import case_escalate
from followups.models import Agent, Case, CaseEvent, CaseStatus, DigestDelivery, Team
from followups.retention import detail_anonymise
from followups.workflow import case_attempt_log, case_close, case_resolve
from nps.models import CaseDaily, FunnelDaily, NpsDaily, ReasonDaily
from nps.reporting.rebuild import rollups_rebuild
from surveys.consent import consent_change
from surveys.conversation import message_send
from surveys.dispatch import invitation_send
from surveys.gateways.base import InboundSMS, StatusReport
from surveys.interactions import interaction_record
from surveys.models import (
    ConsentSource,
    Customer,
    InboundMessage,
    Interaction,
    OutboundMessage,
    ReasonCategory,
    Response,
)
from surveys.pseudonyms import pseudonym
from surveys.receipts import receipt_store
from surveys.replies import reply_process, reply_store
from surveys.retention import ANONYMISED
from tests.factories import AgentFactory, SurveyFactory, TeamFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 1, 6, 4, 0, tzinfo=UTC)  # a Monday, noon in Shanghai
LATER = T0 + timedelta(days=400)  # retention runs then, with --days 365
STAFF = (User, Agent, Team)  # the staff directory: people who work here, not customers


@dataclass(frozen=True)
class Person:
    """A customer's personal values, as they were given to us."""

    phone: str  # E.164
    name: str
    crm_id: str

    @property
    def local(self) -> str:
        return self.phone.removeprefix("+86")  # as a person says it: 13800138000

    def secrets(self) -> list[str]:
        return [self.local, self.name, self.crm_id]


ANN = Person("+8613800138001", "张三丰", "CRM-ANN")  # old history
BEN = Person("+8613800138002", "李四光", "CRM-BEN")  # recent history
CAT = Person("+8613800138003", "王五岳", "CRM-CAT")  # old history, one recent interaction
DAN = Person("+8613800138004", "赵六合", "CRM-DAN")  # old history, then opted out
STAFF_NAME = "钱七星"  # the CRM's staff name on every interaction
STRANGER = "+8613900139000"  # texts us, is no customer
LEAD_EMAIL = "lena.lead@example.com"


@pytest.fixture
def world() -> Iterator[None]:
    with override_settings(NPS_SEND_GATEWAY="console"):
        SurveyFactory(fatigue_days=0)
        lead = User.objects.create_user("lena", email=LEAD_EMAIL, is_staff=True)
        agent = User.objects.create_user("ann", is_staff=True)
        AgentFactory(name="Agent Annabel", user=agent, team=TeamFactory(regions=["BJ"], lead=lead))
        ReasonCategory.objects.get_or_create(code="waiting", defaults={"name_en": "Waiting"})
        yield


def text(person_phone: str, body: str, at: datetime, key: str) -> str:
    with time_machine.travel(at, tick=False):
        sms = InboundSMS(key, person_phone, body, raw={"from": person_phone, "text": body})
        return reply_process(message_id=reply_store(gateway="simulator", sms=sms).message.pk)


def history(person: Person, at: datetime, *, close: bool = True) -> Case:
    """One customer's closed loop at `at`, every step through its service."""
    lead, agent = User.objects.get(username="lena"), User.objects.get(username="ann")
    with time_machine.travel(at, tick=False):
        recorded = interaction_record(
            external_id=person.crm_id,
            customer={"phone": person.local, "name": person.name, "tier": "A", "region": "BJ"},
            touchpoint="hotline",
            occurred_at=at,
            channel="store",
            business_type="billing",
            staff_id="E7",
            staff_name=STAFF_NAME,
        )
        invitation = recorded.interaction.invitations.get()
        assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
        invitation.refresh_from_db()
        sent_id = invitation.provider_message_id
        receipt_store(
            gateway="console", report=StatusReport(sent_id, "delivered", raw={"to": person.phone})
        )
        receipt_store(
            gateway="console",
            report=StatusReport(sent_id, "failed", error=f"handset {person.phone} off"),
        )
        LogEntry.objects.create(
            user=lead,
            content_type=ContentType.objects.get_for_model(Customer),
            object_id=str(invitation.customer_id),
            object_repr=person.name,
            action_flag=CHANGE,
            change_message="[]",
        )
    key = f"MO-{person.crm_id[4:].lower()}"  # a gateway's id, nothing personal
    assert text(person.phone, "2", at + timedelta(minutes=5), f"{key}-1") == "scored"
    with time_machine.travel(at + timedelta(minutes=6), tick=False):
        for message in OutboundMessage.objects.filter(customer__name=person.name):
            message_send(message_id=message.pk)
    words = f"{person.name}排队太久，回电{person.local}"
    text(person.phone, words, at + timedelta(minutes=8), f"{key}-2")
    case = Case.objects.get(customer__name=person.name)
    with time_machine.travel(at + timedelta(minutes=10), tick=False):
        case_assign(case_id=case.pk)
    with time_machine.travel(at + timedelta(days=1), tick=False):
        assert case_escalate(case=case, level=1, now=at + timedelta(days=1))
        note = f"{person.name}说晚上打{person.local}"
        case_attempt_log(
            case_id=case.pk, actor=agent, channel="phone", outcome="reached", note=note
        )
        if close:
            case_resolve(
                case_id=case.pk,
                actor=agent,
                root_causes=[ReasonCategory.objects.get(code="waiting")],
                action_taken=f"退还{person.name}排队费",
                note=f"{person.name}满意",
            )
            case_close(case_id=case.pk, actor=lead, reason=f"{person.name}确认")
        for opted_out, why in ((True, f"{person.name}来电{person.local}要求"), (False, "再次同意")):
            consent_change(
                customer=case.customer,
                opted_out=opted_out,
                source=ConsentSource.STAFF,
                actor=lead,
                reason=why,
            )
        DigestDelivery.objects.get_or_create(
            user=lead, date=(at + timedelta(days=1)).date(), error=f"refused {LEAD_EMAIL}"
        )
    case.refresh_from_db()
    return case


def every_row() -> str:
    """Every row of every model of both apps and the admin's history, as JSON text."""
    models = [*apps.get_app_config("surveys").get_models()]
    models += [*apps.get_app_config("followups").get_models(), LogEntry]
    return "\n".join(
        serializers.serialize("json", m.objects.all(), ensure_ascii=False)
        for m in models
        if m not in STAFF
    )


def figures() -> dict[str, list[dict[str, Any]]]:
    """The dashboard's rollup tables, rebuilt from the raw rows."""
    rollups_rebuild()
    found = {
        m.__name__: sorted(
            (model_to_dict(row, exclude=["id"]) for row in m.objects.all()), key=repr
        )
        for m in (NpsDaily, FunnelDaily, CaseDaily, ReasonDaily)
    }
    assert all(found.values())
    return found


def scores() -> list[tuple[Any, ...]]:
    return list(Response.objects.order_by("pk").values_list("score", "category", "customer_id"))


def case_facts() -> list[tuple[Any, ...]]:
    fields = ("status", "priority", "resolved_at", "first_contact_at")
    causes = Case.root_causes.through.objects.order_by("case_id", "reasoncategory_id")
    return [
        *Case.objects.order_by("pk").values_list(*fields),
        *causes.values_list("case_id", "reasoncategory_id"),
    ]


def event_kinds() -> list[tuple[Any, ...]]:
    return list(CaseEvent.objects.order_by("pk").values_list("case_id", "kind", "at"))


# ---------------------------------------------------------------- retention


@pytest.fixture
def aged(world: None) -> dict[str, Any]:
    """Four customers and a stranger, as the database holds them 400 days after T0."""
    cases = {p.crm_id: history(p, T0) for p in (ANN, CAT, DAN)}
    text(DAN.phone, "TD", T0 + timedelta(days=2), "DAN-stop")
    text(STRANGER, "谁啊", T0, "stranger")
    cases[BEN.crm_id] = history(BEN, LATER - timedelta(days=10))
    with time_machine.travel(LATER - timedelta(days=1), tick=False):
        interaction_record(
            external_id="CRM-CAT-NEW",
            customer={"phone": CAT.local, "tier": "A", "region": "BJ"},
            touchpoint="store_own",
            occurred_at=LATER - timedelta(days=1),
            staff_name=STAFF_NAME,
        )
    return cases


def retention(days: int = 365) -> None:
    with time_machine.travel(LATER, tick=False):
        call_command("retention", days=days)


def test_retention_leaves_no_personal_value_of_an_old_customer_anywhere(aged: Any) -> None:
    before = every_row()
    assert all(secret in before for secret in [*ANN.secrets(), STAFF_NAME, LEAD_EMAIL])

    retention()

    after = every_row()
    for secret in [*ANN.secrets(), *DAN.secrets()[1:], STRANGER.removeprefix("+86")]:
        assert secret not in after, secret
    # Staff names and addresses stay only on Ben's recent case and Ben's and Cat's recent visits.
    assert Interaction.objects.filter(staff_name=STAFF_NAME).count() == 2
    old_events = CaseEvent.objects.exclude(case__customer__phone=BEN.phone)
    assert "Agent Annabel" not in str(list(old_events.values_list("detail", flat=True)))
    assert LEAD_EMAIL not in str(list(old_events.values_list("detail", flat=True)))
    digests = DigestDelivery.objects.order_by("date").values_list("error", flat=True)
    assert list(digests) == [ANONYMISED, f"refused {LEAD_EMAIL}"]  # T0's, then Ben's


def test_retention_anonymises_each_personal_field_of_an_old_customer(aged: Any) -> None:
    retention()

    ann = Customer.objects.get(phone=pseudonym(ANN.phone))
    assert (ann.name, ann.is_mobile, ann.tier, ann.region) == ("", False, "A", "BJ")
    interaction = ann.interactions.get()
    assert (interaction.external_id, interaction.staff_name) == (pseudonym(ANN.crm_id), "")
    assert (interaction.staff_id, interaction.channel, interaction.business_type) == (
        "E7",
        "store",
        "billing",
    )
    messages = InboundMessage.objects.filter(phone=ann.phone)  # the pseudonym joins them
    assert messages.count() == 2
    assert {(m.text, str(m.payload)) for m in messages} == {(ANONYMISED, "{}")}
    assert set(ann.outbound.values_list("text", flat=True)) == {ANONYMISED}
    response = ann.responses.get()
    assert (response.score, response.category, response.comment) == (2, "detractor", ANONYMISED)
    case = ann.cases.get()
    assert (case.action_taken, case.resolution_note, case.close_reason) == (ANONYMISED,) * 3
    assert (case.status, [c.code for c in case.root_causes.all()]) == (
        CaseStatus.CLOSED, ["waiting"]
    )
    attempt = case.attempts.get()
    assert (attempt.note, attempt.outcome) == (ANONYMISED, "reached")
    details = {e.kind: e.detail for e in case.events.all()}
    assert details["attempt"]["note"] == ANONYMISED
    assert details["assigned"]["agent"] == ANONYMISED
    assert details["escalated"]["to"] == ANONYMISED
    assert details["resolved"]["to"] == CaseStatus.RESOLVED  # a status, not a person
    entry = LogEntry.objects.get(object_id=str(ann.pk))
    assert entry.object_repr == ann.phone


def test_retention_keeps_every_recent_customer_untouched(aged: Any) -> None:
    ben_before = every_row().count(BEN.name)

    retention()

    ben = Customer.objects.get(phone=BEN.phone)
    assert ben.name == BEN.name
    assert ben.responses.get().comment.startswith(BEN.name)
    assert ben.cases.get().resolution_note == f"{BEN.name}满意"
    assert every_row().count(BEN.name) == ben_before
    assert InboundMessage.objects.filter(phone=BEN.phone).count() == 2


def test_an_active_customer_keeps_number_and_name_while_old_rows_go(aged: Any) -> None:
    retention()

    cat = Customer.objects.get(phone=CAT.phone)  # a visit yesterday: still a customer
    assert cat.name == CAT.name
    old = cat.interactions.get(occurred_at=T0)
    assert (old.staff_name, old.external_id) == ("", pseudonym(CAT.crm_id))
    assert cat.interactions.get(external_id="CRM-CAT-NEW").staff_name == STAFF_NAME
    assert cat.responses.get().comment == ANONYMISED
    # Her old messages carry the pseudonym of the number her customer row still holds.
    assert InboundMessage.objects.filter(phone=pseudonym(cat.phone)).count() == 2


def test_an_opted_out_customer_keeps_only_the_number_so_stop_stays_absolute(aged: Any) -> None:
    retention()

    dan = Customer.objects.get(phone=DAN.phone)
    assert dan.is_opted_out
    assert dan.name == ""
    assert dan.responses.get().comment == ANONYMISED
    assert set(InboundMessage.objects.filter(text=ANONYMISED).values_list("phone", flat=True)) >= {
        pseudonym(DAN.phone)
    }


def test_retention_keeps_scores_cases_history_and_every_dashboard_figure(aged: Any) -> None:
    before = (figures(), scores(), case_facts(), event_kinds(), Customer.objects.count())

    retention()

    assert (figures(), scores(), case_facts(), event_kinds(), Customer.objects.count()) == before


def test_a_second_retention_run_changes_nothing(aged: Any) -> None:
    retention()
    first = every_row()

    retention()

    assert every_row() == first
    assert Customer.objects.filter(phone=pseudonym(ANN.phone)).exists()  # not hashed twice


@pytest.mark.parametrize("days", [0, -1, -365])
def test_retention_refuses_an_age_that_is_not_positive(aged: Any, days: int) -> None:
    before = every_row()

    with pytest.raises(CommandError, match="--days must be 1 or more"):
        retention(days)

    assert every_row() == before


def test_retention_refuses_a_zero_age_from_the_setting(aged: Any) -> None:
    with (
        override_settings(NPS_RETENTION_DAYS=0),
        pytest.raises(CommandError, match="--days must be 1 or more"),
    ):
        call_command("retention", days=0)


def test_a_history_line_keeps_states_and_loses_people() -> None:
    detail = {"from": "new", "to": "assigned", "agent": "Ann", "note": "x", "later_key": "y"}

    assert detail_anonymise(detail) == {
        "from": "new",
        "to": "assigned",
        "agent": ANONYMISED,
        "note": ANONYMISED,
        "later_key": ANONYMISED,
    }
    assert detail_anonymise({"to": ["a@example.com"]}) == {"to": ANONYMISED}


def test_the_pseudonym_is_keyed_and_fits_a_phone_column() -> None:
    plain = pseudonym(ANN.phone)
    with override_settings(NPS_PSEUDONYM_KEY="another key"):
        keyed = pseudonym(ANN.phone)

    assert plain == pseudonym(ANN.phone)
    assert keyed != plain
    assert len(plain) == len(keyed) == 20
    assert pseudonym(BEN.phone) != plain


# ---------------------------------------------------------------- erasure


@pytest.fixture
def two_customers(world: None) -> None:
    history(ANN, T0)
    history(BEN, T0)


def test_erasure_leaves_no_personal_value_of_the_customer_anywhere(two_customers: None) -> None:
    call_command("customer_erase", phone=ANN.local)  # as the person gives it

    after = every_row()
    for secret in ANN.secrets():
        assert secret not in after, secret
    ann = Customer.objects.get(phone=pseudonym(ANN.phone))
    assert (ann.name, ann.is_mobile) == ("", False)
    assert InboundMessage.objects.filter(phone=ann.phone).count() == 2  # still joins
    case = ann.cases.get()
    assert (case.action_taken, case.resolution_note, case.close_reason) == (ANONYMISED,) * 3
    assert case.attempts.get().note == ANONYMISED
    assert ann.interactions.get().staff_name == ""
    assert LogEntry.objects.get(object_id=str(ann.pk)).object_repr == ann.phone


def test_erasure_leaves_every_other_customer_as_they_were(two_customers: None) -> None:
    ben_rows = every_row().count(BEN.name), every_row().count(BEN.local)

    call_command("customer_erase", phone=ANN.phone)

    assert (every_row().count(BEN.name), every_row().count(BEN.local)) == ben_rows
    assert Customer.objects.get(phone=BEN.phone).name == BEN.name


def test_erasure_keeps_every_dashboard_figure_score_and_case_state(two_customers: None) -> None:
    before = (figures(), scores(), case_facts(), event_kinds())

    call_command("customer_erase", phone=ANN.phone)

    assert (figures(), scores(), case_facts(), event_kinds()) == before


def test_erasure_waits_for_the_customers_open_case_to_be_closed(world: None) -> None:
    case = history(ANN, T0, close=False)

    with pytest.raises(CommandError, match=f"#{case.pk}"):
        call_command("customer_erase", phone=ANN.phone)

    assert Customer.objects.get(phone=ANN.phone).name == ANN.name


def test_erasure_of_a_number_we_never_heard_of_says_so(world: None) -> None:
    with pytest.raises(CommandError, match="No customer"):
        call_command("customer_erase", phone="+8613700137000")


def test_erasure_covers_the_messages_of_someone_who_is_no_customer(world: None) -> None:
    text(STRANGER, "别再发了 我是孙八", T0, "stranger")

    call_command("customer_erase", phone=STRANGER)

    message = InboundMessage.objects.get()
    assert (message.phone, message.text, message.payload) == (pseudonym(STRANGER), ANONYMISED, {})
