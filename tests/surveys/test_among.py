"""`field__among=values` (surveys/among.py) finds what `__in` finds, in one parameter on
PostgreSQL whatever the number of values."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys.models import Customer, Invitation, Survey
from tests.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def test_ids_among_a_list_find_the_rows_in_finds() -> None:
    customers = [CustomerFactory() for _ in range(5)]
    ids = [c.pk for c in customers[:3]] + [customers[0].pk, 10**9]  # a repeat, one missing
    found = set(Customer.objects.filter(pk__among=ids).values_list("pk", flat=True))
    assert found == set(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True))
    assert found == {c.pk for c in customers[:3]}


def invitation(survey: Survey) -> Invitation:
    interaction = InteractionFactory()
    return Invitation.objects.create(
        interaction=interaction, customer=interaction.customer, survey=survey
    )


def test_a_foreign_key_and_a_text_column_take_a_list_too(survey: Survey) -> None:
    invitations = [invitation(survey) for _ in range(3)]
    Invitation.objects.filter(pk=invitations[0].pk).update(provider_message_id="SM-a")
    Invitation.objects.filter(pk=invitations[1].pk).update(provider_message_id="SM-'b")
    by_customer = Invitation.objects.filter(
        customer_id__among=[invitations[1].customer_id, invitations[2].customer_id]
    )
    assert {i.pk for i in by_customer} == {invitations[1].pk, invitations[2].pk}
    by_text = Invitation.objects.filter(provider_message_id__among={"SM-a", "SM-'b", "SM-c"})
    assert {i.pk for i in by_text} == {invitations[0].pk, invitations[1].pk}


def test_an_empty_list_matches_nothing_without_a_statement() -> None:
    CustomerFactory()
    with CaptureQueriesContext(connection) as captured:
        assert list(Customer.objects.filter(pk__among=[])) == []
        assert Customer.objects.filter(pk__among=[]).update(language="en") == 0
    assert captured.captured_queries == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's one array")
def test_the_statement_is_the_same_text_for_3_or_300_ids() -> None:
    texts = []
    for count in (3, 300):
        ids = list(range(1, count + 1))
        sql, params = Customer.objects.filter(pk__among=ids).query.sql_with_params()
        texts.append(sql)
        assert len(params) == 1
    assert texts[0] == texts[1]
    assert "= ANY(" in texts[0]
