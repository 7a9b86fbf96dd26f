"""The operator's preference taxonomy, and customers' values sent by the CRM."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from care.models import CustomerPreference, PreferenceClass, PreferenceFeature
from care.preferences import preference_codes_unknown, preferences_record
from surveys.models import Customer
from tests.conftest import interaction_payload

URL = "/api/v1/interactions/"
pytestmark = pytest.mark.django_db


def test_the_migration_seeds_the_operators_6_classes_and_38_features() -> None:
    assert PreferenceClass.objects.count() == 6
    assert PreferenceFeature.objects.count() == 38
    per_class = {c.code: c.features.count() for c in PreferenceClass.objects.all()}
    assert per_class == {
        "business": 6, "channel": 8, "participation": 4, "promotion": 5, "timing": 3, "gift": 12,
    }  # fmt: skip


def test_every_class_and_feature_is_named_in_chinese_and_english() -> None:
    for row in [*PreferenceClass.objects.all(), *PreferenceFeature.objects.all()]:
        assert row.name_zh.strip()
        assert row.name_en.strip()
        assert not row.name_zh.isascii() or row.name_zh.startswith(("VIP", "SNS"))


def test_the_name_follows_the_language() -> None:
    sms = PreferenceFeature.objects.get(code="channel_sms")
    with translation.override("zh-hans"):
        assert sms.name == "短信渠道营销偏好度"
    with translation.override("en"):
        assert sms.name == "SMS"


def customer_post(client: APIClient, external_id: str, preferences: Any) -> Any:
    customer = {"phone": "13800138000", "preferences": preferences}
    return client.post(URL, interaction_payload(external_id, customer=customer), format="json")


def stored() -> dict[str, float]:
    return dict(CustomerPreference.objects.values_list("feature__code", "value"))


def test_preferences_from_the_api_are_stored_once_per_feature_and_updated(
    crm_client: APIClient,
) -> None:
    first = customer_post(crm_client, "CRM-1", {"channel_sms": 0.8, "gift_data": 0.3})
    assert first.status_code == 201, first.content
    assert stored() == {"channel_sms": 0.8, "gift_data": 0.3}

    second = customer_post(crm_client, "CRM-2", {"channel_sms": 0.2, "timing_holidays": 1})
    assert second.status_code == 201, second.content
    assert stored() == {"channel_sms": 0.2, "gift_data": 0.3, "timing_holidays": 1.0}
    assert CustomerPreference.objects.filter(feature__code="channel_sms").count() == 1
    assert set(CustomerPreference.objects.values_list("source", flat=True)) == {"crm"}
    assert {p.customer for p in CustomerPreference.objects.all()} == {Customer.objects.get()}


def test_an_unknown_feature_code_is_a_400_naming_it_and_nothing_is_stored(
    crm_client: APIClient,
) -> None:
    answer = customer_post(crm_client, "CRM-1", {"channel_sms": 0.5, "channel_pigeon": 0.9})
    assert answer.status_code == 400
    assert "channel_pigeon" in str(answer.json()["customer"]["preferences"])
    assert "channel_sms" not in str(answer.json()["customer"]["preferences"])
    assert not Customer.objects.exists()
    assert not CustomerPreference.objects.exists()


@pytest.mark.parametrize("code", ["channel\x00sms", "x" * 49, "", "短信"])
def test_a_code_that_cannot_be_a_feature_is_a_400_without_asking_the_database(
    crm_client: APIClient, code: str, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        assert preference_codes_unknown(codes=[code]) == [code]
    assert customer_post(crm_client, "CRM-1", {code: 0.5}).status_code == 400


def test_more_values_than_any_taxonomy_has_is_a_400(crm_client: APIClient) -> None:
    answer = customer_post(crm_client, "CRM-1", {f"code_{n}": 0.5 for n in range(501)})
    assert answer.status_code == 400
    assert "500" in str(answer.json()["customer"]["preferences"])


def test_an_inactive_feature_is_unknown_to_the_crm(crm_client: APIClient) -> None:
    PreferenceFeature.objects.filter(code="channel_mms").update(active=False)
    assert preference_codes_unknown(codes=["channel_mms", "channel_sms"]) == ["channel_mms"]
    assert customer_post(crm_client, "CRM-1", {"channel_mms": 0.5}).status_code == 400


@pytest.mark.parametrize("value", [-0.1, 1.5, "high"])
def test_a_value_outside_0_to_1_is_a_400(crm_client: APIClient, value: Any) -> None:
    answer = customer_post(crm_client, "CRM-1", {"channel_sms": value})
    assert answer.status_code == 400
    assert "preferences" in answer.json()["customer"]


def test_a_learned_value_replaces_the_crms_and_says_so() -> None:
    customer = Customer.objects.create(phone="+8613800138000")
    preferences_record(customer=customer, values={"channel_sms": 0.4})
    preferences_record(customer=customer, values={"channel_sms": 0.6}, source="learned")
    row = CustomerPreference.objects.get()
    assert (row.value, row.source) == (0.6, "learned")


def test_the_database_keeps_one_row_per_customer_and_feature_and_values_in_range() -> None:
    customer = Customer.objects.create(phone="+8613800138000")
    sms = PreferenceFeature.objects.get(code="channel_sms")
    CustomerPreference.objects.create(customer=customer, feature=sms, value=0.5, source="crm")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerPreference.objects.create(customer=customer, feature=sms, value=0.7, source="crm")
    mms = PreferenceFeature.objects.get(code="channel_mms")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerPreference.objects.create(customer=customer, feature=mms, value=2, source="crm")


@pytest.fixture
def root(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root", password="pw"))
    return client


def test_the_taxonomy_pages_open_for_a_superuser_in_each_language(root: Client) -> None:
    gifts = PreferenceClass.objects.get(code="gift")
    sms = PreferenceFeature.objects.get(code="channel_sms")
    pages = [
        "/admin/care/", "/admin/care/preferenceclass/", "/admin/care/preferencefeature/",
        f"/admin/care/preferenceclass/{gifts.pk}/change/",
        f"/admin/care/preferencefeature/{sms.pk}/change/",
    ]  # fmt: skip
    for page in pages:
        assert root.get(page).status_code == 200, page
    zh = root.get("/admin/care/preferencefeature/", headers={"accept-language": "zh-hans"})
    assert "短信渠道营销偏好度" in zh.content.decode()
    en = root.get("/admin/care/preferenceclass/", headers={"accept-language": "en"})
    assert "Marketing channel" in en.content.decode()


def test_the_customer_page_shows_the_preferences_inline(root: Client) -> None:
    customer = Customer.objects.create(phone="+8613800138000")
    preferences_record(customer=customer, values={"gift_airtime": 0.75})
    page = root.get(f"/admin/surveys/customer/{customer.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="preferences-0-value" value="0.75"' in html
    assert "Airtime credit" in html


def test_a_batch_refused_for_a_conflict_stores_none_of_its_preferences(
    crm_client: APIClient,
) -> None:
    assert customer_post(crm_client, "CRM-1", {"channel_sms": 0.1}).status_code == 201
    batch = [
        interaction_payload(
            "CRM-2", customer={"phone": "13900139000", "preferences": {"gift_dining": 0.9}}
        ),
        interaction_payload("CRM-1", touchpoint="online", customer={"phone": "13800138000"}),
    ]
    assert crm_client.post(URL, batch, format="json").status_code == 409
    assert stored() == {"channel_sms": 0.1}
