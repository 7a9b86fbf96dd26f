"""The pool in the admin: the stays with their reasons and factors, and the one-row rules."""

import importlib
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import NoReverseMatch, clear_url_caches, reverse

import care.admin.pool  # noqa: F401  (registers the pool's admin, as care.admin does)
from care.models import PoolMember, PoolPolicy
from care.pool import pool_enter, pool_leave
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
URL = "/admin/care/poolmember/"


@pytest.fixture(autouse=True, scope="module")
def admin_urls() -> None:
    """The admin's URLs with the pool's pages, however early the URLconf was first loaded."""
    if any("poolmember" in str(p.pattern) for p in admin.site.get_urls()) and not _routed():
        clear_url_caches()
        importlib.reload(importlib.import_module(settings.ROOT_URLCONF))


def _routed() -> bool:
    try:
        reverse("admin:care_poolmember_changelist")
    except NoReverseMatch:
        return False
    return True


@pytest.fixture
def root(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root", password="pw"))
    return client


@pytest.fixture
def members() -> tuple[int, int]:
    inside = CustomerFactory(phone="+8613800138000", region="BJ", tier="A")
    gone = CustomerFactory(phone="+8613900139000", region="SH", tier="C")
    pool_enter(customer_ids=[inside.pk], reason="complaint", at=T0, detail="网速太慢")
    pool_enter(customer_ids=[gone.pk], reason="detractor", at=T0)
    pool_leave(customer_ids=[gone.pk], reason="later_answer", at=T0)
    PoolMember.objects.filter(customer=inside).update(
        risk=0.8123,
        factors=[
            {"feature": "complaints_90d", "value": 3, "contribution": 0.41},
            {"feature": "arpu_trend", "value": -0.2, "contribution": 0.12},
        ],
    )
    return inside.pk, gone.pk


def listed(client: Client, **query: str) -> str:
    page = client.get(URL, query, headers={"accept-language": "en"})
    assert page.status_code == 200
    return page.content.decode()


def test_the_list_shows_reasons_details_risk_and_factors(
    root: Client, members: tuple[int, int]
) -> None:
    html = listed(root)
    assert "+8613800138000" in html
    assert "网速太慢" in html
    assert "0.812" in html
    assert "<li>complaints_90d = 3 (+0.410)</li>" in html
    assert "Later promoter or passive answer" in html  # the exit reason, by its label


def test_the_list_filters_open_stays_and_by_region(root: Client, members: tuple[int, int]) -> None:
    now = listed(root, state="open")
    assert "+8613800138000" in now
    assert "+8613900139000" not in now
    left = listed(root, state="left")
    assert "+8613900139000" in left
    assert "+8613800138000" not in left
    sh = listed(root, customer__region="SH")
    assert ("+8613900139000" in sh, "+8613800138000" in sh) == (True, False)
    complaints = listed(root, reason="complaint")
    assert ("+8613800138000" in complaints, "+8613900139000" in complaints) == (True, False)


def test_search_finds_a_number_typed_as_people_say_it(
    root: Client, members: tuple[int, int]
) -> None:
    found = listed(root, q="139 0013 9000")
    assert "+8613900139000" in found
    assert "+8613800138000" not in found


def test_stays_are_read_only(root: Client, members: tuple[int, int]) -> None:
    inside, _ = members
    stay = PoolMember.objects.get(customer_id=inside)
    assert root.get(f"{URL}add/").status_code == 403
    page = root.get(f"{URL}{stay.pk}/change/")
    assert page.status_code == 200
    assert 'name="reason"' not in page.content.decode()


def test_the_rules_open_as_their_one_row_and_save(root: Client) -> None:
    assert not PoolPolicy.objects.exists()
    opened = root.get("/admin/care/poolpolicy/")
    assert opened.status_code == 302
    assert opened["Location"] == "/admin/care/poolpolicy/1/change/"
    saved = root.post(
        "/admin/care/poolpolicy/1/change/",
        {"repeat_contacts": 4, "repeat_days": 10, "age_days": 60, "potential_share": 0.03},
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    policy = PoolPolicy.current()
    assert (policy.repeat_contacts, policy.repeat_days, policy.age_days) == (4, 10, 60)
    assert root.get("/admin/care/poolpolicy/add/").status_code == 403


def test_the_rules_refuse_a_repeat_count_below_two(root: Client) -> None:
    PoolPolicy.current()
    page = root.post(
        "/admin/care/poolpolicy/1/change/",
        {"repeat_contacts": 1, "repeat_days": 7, "age_days": 90, "potential_share": 0.05},
    )
    assert page.status_code == 200  # the form again, with the error
    assert PoolPolicy.current().repeat_contacts == 3
