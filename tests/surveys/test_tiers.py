"""The value tier: the CRM's when sent, else derived from ARPU by the editable thresholds."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from rest_framework.test import APIClient

from surveys.models import Customer, TierThresholds
from surveys.tiers import tier_for_arpu
from tests.conftest import interaction_payload

URL = "/api/v1/interactions/"
DEFAULTS = TierThresholds(a_above=Decimal(200), b_from=Decimal(120))


@pytest.mark.parametrize(
    ("arpu", "tier"),
    [
        ("200.01", "A"),
        ("5000", "A"),
        ("200", "B"),  # the operator's "A: 200元以上, B: 120-200元" share 200; A is *above* it
        ("150", "B"),
        ("120", "B"),
        ("119.99", "C"),
        ("0", "C"),
    ],
)
def test_tier_for_arpu_at_and_around_each_threshold(arpu: str, tier: str) -> None:
    assert tier_for_arpu(Decimal(arpu), DEFAULTS) == tier


def test_other_thresholds_move_the_boundaries() -> None:
    thresholds = TierThresholds(a_above=Decimal(300), b_from=Decimal(50))
    assert [tier_for_arpu(Decimal(v), thresholds) for v in ("300.01", "300", "50", "49")] == [
        "A", "B", "B", "C",
    ]  # fmt: skip


@pytest.mark.django_db
def test_the_migration_seeds_one_row_with_the_operators_defaults() -> None:
    thresholds = TierThresholds.objects.get()
    assert (thresholds.a_above, thresholds.b_from) == (Decimal(200), Decimal(120))
    assert TierThresholds.current() == thresholds


@pytest.mark.django_db  # full_clean checks the constraints in the database
@pytest.mark.parametrize(("a_above", "b_from"), [(120, 120), (100, 120)])
def test_a_threshold_not_above_b_is_refused_by_the_form_rule(a_above: int, b_from: int) -> None:
    with pytest.raises(ValidationError) as error:
        TierThresholds(pk=1, a_above=Decimal(a_above), b_from=Decimal(b_from)).full_clean()
    assert "a_above" in error.value.message_dict


@pytest.mark.django_db
def test_a_negative_b_threshold_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        TierThresholds(pk=1, a_above=Decimal(200), b_from=Decimal(-1)).full_clean()
    assert "b_from" in error.value.message_dict


@pytest.mark.django_db
def test_the_database_refuses_a_second_row_and_crossed_thresholds() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        TierThresholds.objects.create(pk=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        TierThresholds.objects.filter(pk=1).update(a_above=Decimal(100))


def customer_post(client: APIClient, external_id: str, **customer: Any) -> Customer:
    payload = interaction_payload(external_id, customer={"phone": "13800138000", **customer})
    answer = client.post(URL, payload, format="json")
    assert answer.status_code == 201, answer.content
    return Customer.objects.get(phone="+8613800138000")


@pytest.mark.django_db
def test_the_crm_tier_wins_over_its_arpu(crm_client: APIClient) -> None:
    customer = customer_post(crm_client, "CRM-1", tier="C", arpu="500.00")
    assert customer.tier == "C"
    assert customer.arpu == Decimal("500.00")


@pytest.mark.django_db
@pytest.mark.parametrize(("arpu", "tier"), [("200.01", "A"), ("200", "B"), ("119.99", "C")])
def test_without_a_tier_the_api_derives_it_from_arpu(
    crm_client: APIClient, arpu: str, tier: str
) -> None:
    customer = customer_post(crm_client, "CRM-1", arpu=arpu, arpu_trend_yuan="-12.50")
    assert customer.tier == tier
    assert customer.arpu_trend_yuan == Decimal("-12.50")


@pytest.mark.django_db
def test_without_tier_or_arpu_the_tier_stays_as_it_was(crm_client: APIClient) -> None:
    assert customer_post(crm_client, "CRM-1").tier == "C"  # a new customer
    assert customer_post(crm_client, "CRM-2", arpu=250.5).tier == "A"  # a JSON number too
    kept = customer_post(crm_client, "CRM-3", region="SH")
    assert (kept.tier, kept.arpu, kept.region) == ("A", Decimal("250.50"), "SH")


@pytest.mark.django_db
def test_edited_thresholds_apply_to_the_next_interaction_not_to_stored_tiers(
    crm_client: APIClient,
) -> None:
    Customer.objects.create(phone="+8613900139000", tier="B", arpu=Decimal(150))
    assert customer_post(crm_client, "CRM-1", arpu="150").tier == "B"
    TierThresholds.objects.filter(pk=1).update(a_above=Decimal(140), b_from=Decimal(100))

    assert Customer.objects.get(phone="+8613900139000").tier == "B"  # not retroactive
    assert customer_post(crm_client, "CRM-2", arpu="150").tier == "A"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("arpu", "-0.01"), ("arpu", "100000.01"), ("arpu", "lots"), ("arpu_trend_yuan", "-100001")],
)
def test_arpu_out_of_range_is_a_400_naming_the_field(
    crm_client: APIClient, field: str, value: str
) -> None:
    payload = interaction_payload(customer={"phone": "13800138000", field: value})
    answer = crm_client.post(URL, payload, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["customer"]
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_the_thresholds_and_customer_admin_pages_open_for_a_superuser(client: Client) -> None:
    client.force_login(User.objects.create_superuser("root", password="pw"))
    customer = Customer.objects.create(phone="+8613800138000", arpu=Decimal("88.50"))
    listing = client.get("/admin/surveys/tierthresholds/")
    change = client.get("/admin/surveys/tierthresholds/1/change/")
    page = client.get(f"/admin/surveys/customer/{customer.pk}/change/")

    assert (listing.status_code, change.status_code, page.status_code) == (200, 200, 200)
    assert 'name="a_above" value="200.00"' in change.content.decode()
    assert 'name="arpu" value="88.50"' in page.content.decode()
    assert client.get("/admin/surveys/tierthresholds/add/").status_code == 403


@pytest.mark.django_db
def test_thresholds_saved_in_the_admin_are_validated(client: Client) -> None:
    client.force_login(User.objects.create_superuser("root", password="pw"))
    url = "/admin/surveys/tierthresholds/1/change/"
    crossed = client.post(url, {"a_above": "100", "b_from": "120"})
    assert crossed.status_code == 200  # the form again, with the error
    assert TierThresholds.current().a_above == Decimal(200)

    client.post(url, {"a_above": "300", "b_from": "150"})
    assert (TierThresholds.current().a_above, TierThresholds.current().b_from) == (300, 150)
