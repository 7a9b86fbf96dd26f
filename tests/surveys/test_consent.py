"""Consent: who may change it, the reason staff must give, and the log of every change."""

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from followups.roles import CONSENT_OFFICERS
from surveys.consent import consent_change, may_message
from surveys.conversation import message_queue, message_send
from surveys.dispatch import invitation_send
from surveys.gateways.base import InboundSMS
from surveys.interactions import interaction_record
from surveys.models import (
    ConsentChange,
    ConsentSource,
    Customer,
    InboundMessage,
    InvitationStatus,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
    Purpose,
    SuppressReason,
    Survey,
)
from surveys.replies import reply_process, reply_store
from tests.factories import CustomerFactory
from tests.followups.personas import Personas, personas_make

PHONE = "+8613800138000"
CHANGELIST = reverse("admin:surveys_customer_changelist")


@pytest.fixture
def people(db: Any) -> Personas:
    return personas_make()


@pytest.fixture
def officer(people: Personas) -> User:
    """Olga, trusted with consent: in the Consent officers group, no rank."""
    user = User.objects.create_user("olga", is_staff=True)
    user.groups.add(Group.objects.get(name=CONSENT_OFFICERS))
    return user


@pytest.fixture
def customer(db: Any) -> Customer:
    return CustomerFactory(phone=PHONE)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sms(text: str, message_id: str) -> str:
    stored = reply_store(gateway="console", sms=InboundSMS(message_id, PHONE, text))
    return reply_process(message_id=stored.message.pk)


def run_action(client: Client, customer: Customer, action: str, reason: str) -> Any:
    body = {"action": action, "_selected_action": [customer.pk], "apply": "1", "reason": reason}
    return client.post(CHANGELIST, body)


def test_stop_and_start_by_sms_each_write_a_log_row_with_the_message(customer: Customer) -> None:
    assert sms("STOP", "MO1") == "opted_out"
    assert sms("STOP", "MO2") == "opted_out"  # already out: no second row
    assert sms("START", "MO3") == "opted_in"
    log = list(ConsentChange.objects.filter(customer=customer))
    assert [(c.opted_out, c.source, c.actor) for c in log] == [
        (True, ConsentSource.SMS, None),
        (False, ConsentSource.SMS, None),
    ]
    assert [c.message for c in log] == [
        InboundMessage.objects.get(gateway_message_id="MO1"),
        InboundMessage.objects.get(gateway_message_id="MO3"),
    ]


def test_a_view_only_supervisor_is_not_offered_the_consent_actions_and_changes_nothing(
    people: Personas, customer: Customer
) -> None:
    sue = logged_in(people.supervisor)
    page = sue.get(CHANGELIST)
    assert page.status_code == 200  # she may look at customers
    actions = page.context["action_form"]  # None: no action at all is offered to her
    offered = [name for name, _label in actions.fields["action"].choices] if actions else []
    assert "mark_opted_out" not in offered
    assert "opt_back_in" not in offered
    run_action(sue, customer, "mark_opted_out", "")
    customer.refresh_from_db()
    assert not customer.is_opted_out
    Customer.objects.filter(pk=customer.pk).update(opted_out_at=timezone.now())
    run_action(sue, customer, "opt_back_in", "She said so")
    customer.refresh_from_db()
    assert customer.is_opted_out  # her STOP stands
    assert not ConsentChange.objects.exists()


def test_a_consent_officer_marks_opted_out_and_the_log_says_who_and_why(
    officer: User, customer: Customer
) -> None:
    client = logged_in(officer)
    confirm = client.post(
        CHANGELIST, {"action": "mark_opted_out", "_selected_action": [customer.pk]}
    )
    assert confirm.status_code == 200  # the confirmation page
    assert not ConsentChange.objects.exists()
    run_action(client, customer, "mark_opted_out", "Asked by phone not to be texted")
    customer.refresh_from_db()
    assert customer.is_opted_out
    change = ConsentChange.objects.get()
    assert (change.opted_out, change.source, change.actor) == (True, "staff", officer)
    assert change.reason == "Asked by phone not to be texted"


def test_staff_opt_in_without_a_reason_is_refused(officer: User, customer: Customer) -> None:
    Customer.objects.filter(pk=customer.pk).update(opted_out_at=timezone.now())
    page = run_action(logged_in(officer), customer, "opt_back_in", "  ")
    assert page.status_code == 200
    assert page.context["form"].errors["reason"]
    customer.refresh_from_db()
    assert customer.is_opted_out
    with pytest.raises(ValidationError):  # the service's own rule, whoever calls it
        consent_change(customer=customer, opted_out=False, source="staff", actor=officer)
    assert not ConsentChange.objects.exists()


def test_staff_opt_in_with_a_reason_is_logged(officer: User, customer: Customer) -> None:
    Customer.objects.filter(pk=customer.pk).update(opted_out_at=timezone.now())
    reason = "Hotline call 30 Nov, ticket 4711: asked to get surveys again"
    run_action(logged_in(officer), customer, "opt_back_in", reason)
    customer.refresh_from_db()
    assert not customer.is_opted_out
    change = ConsentChange.objects.get()
    assert (change.opted_out, change.source, change.actor, change.reason) == (
        False, "staff", officer, reason,
    )  # fmt: skip


def test_the_customers_page_shows_the_consent_log_with_who_when_source_and_reason(
    people: Personas, officer: User, customer: Customer
) -> None:
    sms("STOP", "MO1")
    consent_change(
        customer=customer, opted_out=False, source="staff", actor=officer,
        reason="Asked in the Xidan store",
    )  # fmt: skip
    page = logged_in(people.supervisor).get(
        reverse("admin:surveys_customer_change", args=[customer.pk])
    )
    html = page.content.decode()
    assert "Consent log" in html
    assert "Customer&#x27;s SMS" in html
    assert "SMS “STOP”" in html
    assert "The customer" in html
    assert "Staff" in html
    assert "olga" in html
    assert "Asked in the Xidan store" in html
    assert "Opted back in" in html


def test_the_consent_log_is_append_only_and_consent_is_no_form_field(
    admin_client: Client, rf: RequestFactory, customer: Customer
) -> None:
    request = rf.get("/")
    request.user = User.objects.get(username="admin")  # a superuser: every permission
    inlines = admin.site._registry[Customer].get_inline_instances(request, customer)
    (inline,) = [i for i in inlines if i.model is ConsentChange]  # care adds preferences
    assert not inline.has_add_permission(request, customer)
    assert not inline.has_change_permission(request, customer)
    assert not inline.has_delete_permission(request, customer)
    assert ConsentChange not in admin.site._registry  # no page of its own to edit it on
    change_page = reverse("admin:surveys_customer_change", args=[customer.pk])
    form = admin_client.get(change_page).context["adminform"].form
    assert "opted_out_at" not in form.fields  # only the actions (through the log) change it


def test_consent_is_changed_for_at_most_a_hundred_customers_at_once(officer: User) -> None:
    customers = [CustomerFactory(phone=f"+86138001{n:05d}") for n in range(101)]
    body = {"action": "mark_opted_out", "apply": "1", "reason": "A list from somewhere"}
    page = logged_in(officer).post(
        CHANGELIST, body | {"_selected_action": [c.pk for c in customers]}, follow=True
    )
    assert [str(m) for m in page.context["messages"]] == [
        "Select at most 100 customers to change their consent."
    ]
    assert not Customer.objects.filter(opted_out_at__isnull=False).exists()


# ---------------------------------------------------------------- every path, one log row


def opted_out_already(customer: Customer) -> None:
    Customer.objects.filter(pk=customer.pk).update(opted_out_at=timezone.now())


PATHS = {
    # path: (opted out before, what it does, state after, source of the row)
    "sms stop": (False, lambda c, officer: sms("STOP", "MO1"), True, ConsentSource.SMS),
    "sms start": (True, lambda c, officer: sms("START", "MO1"), False, ConsentSource.SMS),
    "staff opt-out action": (
        False,
        lambda c, officer: run_action(logged_in(officer), c, "mark_opted_out", ""),
        True,
        ConsentSource.STAFF,
    ),
    "staff opt-in with reason": (
        True,
        lambda c, officer: run_action(logged_in(officer), c, "opt_back_in", "Hotline, 30 Nov"),
        False,
        ConsentSource.STAFF,
    ),
}


@pytest.mark.parametrize("path", PATHS)
def test_each_way_to_change_consent_writes_one_log_row_and_the_same_state(
    officer: User, customer: Customer, path: str
) -> None:
    before, act, after, source = PATHS[path]
    if before:
        opted_out_already(customer)
    act(customer, officer)
    customer.refresh_from_db()
    change = ConsentChange.objects.get(customer=customer)  # exactly one row
    assert (customer.is_opted_out, change.opted_out, change.source) == (after, after, source)
    assert customer.opted_out_at == (change.at if after else None)


def test_the_customer_form_cannot_change_consent_and_logs_nothing(
    admin_client: Client, customer: Customer
) -> None:
    page = reverse("admin:surveys_customer_change", args=[customer.pk])
    form = {
        "phone": customer.phone, "name": "Renamed", "tier": "A", "region": "BJ",
        "language": "zh-hans", "time_zone": "Asia/Shanghai",
        "opted_out_at_0": "2026-11-30", "opted_out_at_1": "10:00:00",
        "consent_changes-TOTAL_FORMS": "0", "consent_changes-INITIAL_FORMS": "0",
        "preferences-TOTAL_FORMS": "0", "preferences-INITIAL_FORMS": "0",  # care's inline
        "contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0",  # the recent contacts
    }  # fmt: skip
    assert admin_client.post(page, form).status_code == 302  # saved
    customer.refresh_from_db()
    assert customer.name == "Renamed"
    assert not customer.is_opted_out
    assert not ConsentChange.objects.exists()


# ---------------------------------------------------------------- what an opt-out stops


@pytest.mark.parametrize(
    "kind",
    [*OutboundKind, Purpose.SURVEY, Purpose.VERIFICATION],
)
def test_an_opted_out_customer_gets_only_the_opt_out_confirmation(
    customer: Customer, kind: str
) -> None:
    assert may_message(customer, kind)
    opted_out_already(customer)
    customer.refresh_from_db()
    assert may_message(customer, kind) == (kind == OutboundKind.OPT_OUT_CONFIRMATION)


@override_settings(NPS_SEND_GATEWAY="console")
def test_a_stop_blocks_the_survey_queued_before_it(survey: Survey) -> None:
    recorded = interaction_record(
        external_id="CRM-1",
        customer={"phone": PHONE, "tier": "B", "region": "BJ", "language": "en"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    )
    invitation = recorded.interaction.invitations.get()
    assert invitation.status == InvitationStatus.SCHEDULED  # queued, not yet sent
    assert sms("STOP", "MO1") == "opted_out"
    assert invitation_send(invitation_id=invitation.pk).outcome == "suppressed"
    invitation.refresh_from_db()
    assert (invitation.status, invitation.suppressed_reason, invitation.sent_at) == (
        InvitationStatus.SUPPRESSED, SuppressReason.OPTED_OUT, None,
    )  # fmt: skip


@override_settings(NPS_SEND_GATEWAY="console")
def test_a_stop_blocks_a_message_queued_before_it_and_its_confirmation_goes_out(
    customer: Customer,
) -> None:
    earlier = message_queue(customer=customer, kind=OutboundKind.HELP)
    assert earlier is not None
    assert sms("STOP", "MO1") == "opted_out"
    confirmation = OutboundMessage.objects.get(kind=OutboundKind.OPT_OUT_CONFIRMATION)
    assert message_send(message_id=earlier.pk).outcome == "suppressed"
    assert message_send(message_id=confirmation.pk).outcome == "sent"
    statuses = dict(OutboundMessage.objects.values_list("kind", "status"))
    assert statuses == {
        OutboundKind.HELP: OutboundStatus.SKIPPED,
        OutboundKind.OPT_OUT_CONFIRMATION: OutboundStatus.SENT,
    }
