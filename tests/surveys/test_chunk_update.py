"""objects_update: a chunk's rows written in one statement, as bulk_update would write them;
rows_insert: many rows added in one statement; statuses_advance_with: the facts and the
status's move forward in one."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from surveys import rowsupdate
from surveys.models import Contact, ContactKind, InboundMessage, Invitation, InvitationStatus
from surveys.rowsupdate import objects_update, rows_insert
from surveys.sendstatus import INVITATIONS, statuses_advance_with
from tests.factories import CustomerFactory, InteractionFactory, SurveyFactory

pytestmark = pytest.mark.django_db
AT = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def _inbound(n: int, invitation: Invitation | None = None) -> InboundMessage:
    return InboundMessage.objects.create(
        gateway="simulator",
        gateway_message_id=f"MO-{n}",
        phone=f"+8613800000{n:03d}",
        text="9",
        payload={"n": n},
        invitation=invitation,
    )


@pytest.mark.parametrize("old_sqlite", [False, True])
def test_each_row_gets_its_own_values_and_nothing_else_changes(
    django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch, old_sqlite: bool
) -> None:
    if old_sqlite:  # an SQLite without UPDATE ... FROM: one update per row, same result
        if connection.vendor != "sqlite":
            pytest.skip("the fallback is SQLite's")
        monkeypatch.setattr(rowsupdate, "UPDATE_FROM_SQLITE", (99, 0, 0))
    customer = CustomerFactory()
    interaction = InteractionFactory(customer=customer)
    invitation = Invitation.objects.create(
        interaction=interaction, customer=customer, survey=SurveyFactory()
    )
    rows = [_inbound(0), _inbound(1, invitation), _inbound(2), _inbound(3)]
    rows[0].processed_at, rows[0].outcome, rows[0].invitation = AT, "scored", invitation
    rows[1].processed_at, rows[1].outcome, rows[1].invitation = AT, "opted_out", None
    rows[2].processed_at, rows[2].outcome = AT + timedelta(seconds=1), "unknown_sender"
    for row in rows[:3]:
        row.text = "not written: not a listed field"

    with django_assert_num_queries(3 if old_sqlite else 1):
        objects_update(InboundMessage, rows[:3], ["processed_at", "outcome", "invitation"])

    stored = {
        row.gateway_message_id: (row.processed_at, row.outcome, row.invitation_id, row.text)
        for row in InboundMessage.objects.all()
    }
    assert stored == {
        "MO-0": (AT, "scored", invitation.pk, "9"),
        "MO-1": (AT, "opted_out", None, "9"),
        "MO-2": (AT + timedelta(seconds=1), "unknown_sender", None, "9"),
        "MO-3": (None, "", None, "9"),
    }


def test_no_rows_no_statement(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        objects_update(InboundMessage, [], ["outcome"])


def test_rows_insert_adds_each_row_with_its_values_in_one_statement(
    django_assert_num_queries: Any,
) -> None:
    first, second = CustomerFactory(), CustomerFactory()
    rows = [
        {"customer": first.pk, "kind": ContactKind.SURVEY, "at": AT},
        {"customer": second.pk, "kind": ContactKind.CAMPAIGN_SMS, "at": AT + timedelta(hours=1)},
        {"customer": first.pk, "kind": ContactKind.VERIFICATION, "at": AT + timedelta(hours=2)},
    ]
    with django_assert_num_queries(1):
        assert rows_insert(Contact, rows) == 3
    # Each row as given; the field not named (source) takes its default, the key is new.
    stored = list(Contact.objects.order_by("at").values_list("customer", "kind", "at", "source"))
    assert stored == [
        (first.pk, ContactKind.SURVEY, AT, ""),
        (second.pk, ContactKind.CAMPAIGN_SMS, AT + timedelta(hours=1), ""),
        (first.pk, ContactKind.VERIFICATION, AT + timedelta(hours=2), ""),
    ]
    assert len(set(Contact.objects.values_list("pk", flat=True))) == 3
    with django_assert_num_queries(0):
        assert rows_insert(Contact, []) == 0


def test_rows_insert_calls_a_callable_default_per_row_and_wants_auto_now_named() -> None:
    from nps.models import WebhookSubscription

    rows = [{"name": f"n{n}", "url": f"https://example.com/{n}", "created": AT} for n in range(3)]
    assert rows_insert(WebhookSubscription, rows) == 3
    stored = list(WebhookSubscription.objects.order_by("name").values("secret", "event_types"))
    # secret's default makes a new secret per row; event_types' default is a new empty list.
    assert len({row["secret"] for row in stored}) == 3
    assert all(len(row["secret"]) == 64 for row in stored)
    assert [row["event_types"] for row in stored] == [[], [], []]
    if connection.vendor == "postgresql":  # on SQLite bulk_create fills it as it always does
        with pytest.raises(ValueError, match="created"):
            rows_insert(WebhookSubscription, [{"name": "x", "url": "https://example.com/x"}])


@pytest.mark.parametrize("old_sqlite", [False, True])
def test_the_facts_are_written_and_the_status_moves_only_where_it_may(
    django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch, old_sqlite: bool
) -> None:
    if old_sqlite:
        if connection.vendor != "sqlite":
            pytest.skip("the fallback is SQLite's")
        monkeypatch.setattr(rowsupdate, "UPDATE_FROM_SQLITE", (99, 0, 0))
    survey = SurveyFactory()
    sending, delivered = (
        Invitation.objects.create(
            interaction=(i := InteractionFactory()), customer=i.customer, survey=survey, status=s
        )
        for s in (InvitationStatus.SENDING, InvitationStatus.DELIVERED)
    )
    facts = {"provider_message_id": "SM-1", "sent_at": AT}
    with django_assert_num_queries(3 if old_sqlite else 1):
        statuses_advance_with(
            INVITATIONS,
            {sending.pk: facts, delivered.pk: facts | {"provider_message_id": "SM-2"}},
            to="sent",
        )
    stored = dict(Invitation.objects.values_list("pk", "status"))
    assert stored == {sending.pk: "sent", delivered.pk: "delivered"}  # never back
    assert set(Invitation.objects.values_list("provider_message_id", "sent_at")) == {
        ("SM-1", AT),
        ("SM-2", AT),
    }
    with pytest.raises(ValueError, match="stamps"):
        statuses_advance_with(INVITATIONS, {sending.pk: facts}, to="delivered")
