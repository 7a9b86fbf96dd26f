"""Staff login lockout (django-axes): failures lock one (username, address) pair, no more.

Every login is a real POST to the admin's login view (the dashboard sends staff there too),
from an address given as REMOTE_ADDR.
"""

from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db
PASSWORD = "violet-harbour-7391"
X, Y = "203.0.113.7", "198.51.100.23"


@pytest.fixture
def staff(db: Any) -> dict[str, User]:
    """Two agents: east2, the one under attack, and national1, who shares east2's address."""
    return {
        name: User.objects.create_user(name, password=PASSWORD, is_staff=True)
        for name in ("east2", "national1")
    }


def login(username: str, password: str, addr: str) -> tuple[Client, Any]:
    client = Client(REMOTE_ADDR=addr)
    answer = client.post(
        "/admin/login/?next=/dashboard/", {"username": username, "password": password}
    )
    return client, answer


def logged_in(client: Client, answer: Any) -> bool:
    return answer.status_code == 302 and "_auth_user_id" in client.session


def fail_until_locked(limit: int = 5, username: str = "east2", addr: str = X) -> None:
    for n in range(1, limit + 1):
        client, answer = login(username, "wrong-password", addr)
        assert not logged_in(client, answer)
        # the login form again with its error; the failure that reaches the limit locks
        assert answer.status_code == (429 if n == limit else 200)


def test_five_failures_lock_the_name_from_that_address_even_with_the_right_password(
    staff: dict[str, User],
) -> None:
    fail_until_locked()
    client, answer = login("east2", PASSWORD, X)
    assert not logged_in(client, answer)
    assert answer.status_code == 429
    assert "Too many failed logins for east2 from this address" in answer.content.decode()


def test_the_lockout_page_speaks_chinese_to_a_chinese_browser(staff: dict[str, User]) -> None:
    fail_until_locked()
    client = Client(REMOTE_ADDR=X, HTTP_ACCEPT_LANGUAGE="zh-hans")
    answer = client.post("/admin/login/", {"username": "east2", "password": PASSWORD})
    assert answer.status_code == 429
    assert "east2 从此地址登录失败次数过多。请在 15 分钟后重试" in answer.content.decode()


def test_changing_the_browser_does_not_escape_the_lock(staff: dict[str, User]) -> None:
    for n in range(5):
        Client(REMOTE_ADDR=X, HTTP_USER_AGENT=f"browser {n}").post(
            "/admin/login/", {"username": "east2", "password": "wrong-password"}
        )
    client = Client(REMOTE_ADDR=X, HTTP_USER_AGENT="browser 6")
    assert not logged_in(
        client, client.post("/admin/login/", {"username": "east2", "password": PASSWORD})
    )


def test_four_failures_do_not_lock(staff: dict[str, User]) -> None:
    for _ in range(4):
        login("east2", "wrong-password", X)
    assert logged_in(*login("east2", PASSWORD, X))


def test_another_name_from_the_same_address_still_logs_in(staff: dict[str, User]) -> None:
    fail_until_locked()
    assert logged_in(*login("national1", PASSWORD, X))


def test_the_same_name_from_another_address_still_logs_in(staff: dict[str, User]) -> None:
    fail_until_locked()
    assert logged_in(*login("east2", PASSWORD, Y))


def test_the_lock_lifts_after_the_cool_off_and_retries_do_not_prolong_it(
    staff: dict[str, User],
) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail_until_locked()
    with time_machine.travel(start + timezone.timedelta(seconds=890), tick=False):
        assert not logged_in(*login("east2", PASSWORD, X))  # still locked
    with time_machine.travel(start + timezone.timedelta(seconds=901), tick=False):
        assert logged_in(*login("east2", PASSWORD, X))


def test_the_failure_limit_and_cool_off_are_settings(staff: dict[str, User], settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timezone.timedelta(seconds=60)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail_until_locked(2)
    with time_machine.travel(start + timezone.timedelta(seconds=30), tick=False):
        assert not logged_in(*login("east2", PASSWORD, X))
    with time_machine.travel(start + timezone.timedelta(seconds=61), tick=False):
        assert logged_in(*login("east2", PASSWORD, X))


def test_a_success_forgets_earlier_failures(staff: dict[str, User]) -> None:
    for _ in range(4):
        login("east2", "wrong-password", X)
    assert logged_in(*login("east2", PASSWORD, X))
    for _ in range(4):
        login("east2", "wrong-password", X)
    assert logged_in(*login("east2", PASSWORD, X))


def test_a_superuser_sees_the_lockout_in_the_admin_and_unlocks_it(
    staff: dict[str, User],
) -> None:
    fail_until_locked()
    root = User.objects.create_superuser("root", password=PASSWORD)
    admin = Client()
    admin.force_login(root)
    listing = admin.get("/admin/axes/accessattempt/", {"locked_out": "yes"})
    assert listing.status_code == 200
    (attempt,) = listing.context["cl"].result_list
    assert (attempt.username, attempt.ip_address, attempt.failures_since_start) == ("east2", X, 5)
    assert "Locked Out" in listing.content.decode()
    assert "national1" not in listing.content.decode()

    detail = admin.get(f"/admin/axes/accessattempt/{attempt.pk}/change/").content.decode()
    assert "/admin/login/" in detail
    assert "wrong-password" not in detail  # the tried passwords are not kept

    deleted = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert logged_in(*login("east2", PASSWORD, X))


def test_staff_without_the_permission_cannot_see_or_unlock_lockouts(
    staff: dict[str, User],
) -> None:
    fail_until_locked()
    supervisor = Client()
    supervisor.force_login(User.objects.create_user("sue", password=PASSWORD, is_staff=True))
    assert supervisor.get("/admin/axes/accessattempt/").status_code == 403
    assert not logged_in(*login("east2", PASSWORD, X))
