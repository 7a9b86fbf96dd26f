"""The contact budget and the contact log in the admin."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from surveys.models import Contact, ContactKind, ContactPolicy, Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def contact(customer: Customer, kind: str, ago: timedelta, source: str) -> Contact:
    return Contact.objects.create(
        customer=customer, kind=kind, at=timezone.now() - ago, source=source
    )


def test_the_budget_is_one_row_edited_in_place(admin_client: Client) -> None:
    assert not ContactPolicy.objects.exists()
    page = admin_client.get(reverse("admin:surveys_contactpolicy_changelist"))
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1  # made with the defaults on first look
    assert admin_client.get(reverse("admin:surveys_contactpolicy_add")).status_code == 403
    change = reverse("admin:surveys_contactpolicy_change", args=[1])
    saved = admin_client.post(change, {"max_contacts": 2, "window_days": 14})
    assert saved.status_code == 302
    policy = ContactPolicy.current()
    assert (policy.max_contacts, policy.window_days) == (2, 14)
    assert admin_client.post(change, {"max_contacts": 0, "window_days": 14}).status_code == 200
    assert ContactPolicy.current().max_contacts == 2  # at least one contact: refused


def test_the_log_is_read_only_filtered_by_kind_and_found_by_phone(admin_client: Client) -> None:
    mine = CustomerFactory(phone="+8613800138000")
    other = CustomerFactory(phone="+8613900139000")
    contact(mine, ContactKind.SURVEY, timedelta(days=1), "invitation:1")
    contact(mine, ContactKind.CALLBACK, timedelta(hours=1), "case:1")
    contact(other, ContactKind.CAMPAIGN_SMS, timedelta(hours=2), "campaign:1")
    changelist = reverse("admin:surveys_contact_changelist")

    found = admin_client.get(changelist, {"q": "138 0013 8000"})
    assert sorted(c.source for c in found.context["cl"].result_list) == [
        "case:1",
        "invitation:1",
    ]
    callbacks = admin_client.get(changelist, {"kind__exact": ContactKind.CALLBACK})
    assert [c.source for c in callbacks.context["cl"].result_list] == ["case:1"]
    assert admin_client.get(reverse("admin:surveys_contact_add")).status_code == 403
    one = Contact.objects.get(source="case:1")
    page = admin_client.get(reverse("admin:surveys_contact_change", args=[one.pk]))
    assert page.status_code == 200
    assert b'name="source"' not in page.content  # shown, not editable


def test_the_customer_page_shows_the_contacts_in_the_budgets_window(
    admin_client: Client, db: Any
) -> None:
    ContactPolicy.objects.create(pk=1, max_contacts=3, window_days=7)
    customer = CustomerFactory()
    contact(customer, ContactKind.SURVEY, timedelta(days=2), "invitation:recent")
    contact(customer, ContactKind.CAMPAIGN_CALL, timedelta(days=8), "campaign:old")
    page = admin_client.get(reverse("admin:surveys_customer_change", args=[customer.pk]))
    assert page.status_code == 200
    assert "invitation:recent" in page.content.decode()
    assert "campaign:old" not in page.content.decode()
