"""Staff login: repeated failures lock the name and the address for a while."""

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db
PASSWORD = "right-password-123"


@pytest.fixture(autouse=True)
def clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff() -> User:
    return User.objects.create_user("staff", password=PASSWORD, is_staff=True)


def login(client: Client, password: str, username: str = "staff", addr: str = "10.0.0.1") -> Any:
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=addr,
    )


def test_five_failures_lock_out_even_the_right_password(client: Client, staff: User) -> None:
    for _ in range(5):
        assert login(client, "wrong").status_code == 200  # the form again, with an error
    locked = login(client, PASSWORD)
    assert locked.status_code == 200  # the login form again: no session
    assert "_auth_user_id" not in client.session


def test_guessing_many_names_from_one_address_locks_that_address(
    client: Client, staff: User
) -> None:
    for n in range(5):
        login(client, "wrong", username=f"guess{n}")
    assert login(client, PASSWORD).status_code == 200  # locked from 10.0.0.1
    assert login(Client(), PASSWORD, addr="10.0.0.2").status_code == 302  # fine elsewhere


def test_the_lock_lifts_after_the_window(client: Client, staff: User, settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    for _ in range(5):
        login(client, "wrong")
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=901)):
        assert login(client, PASSWORD).status_code == 302


def test_a_success_clears_earlier_failures(client: Client, staff: User) -> None:
    for _ in range(4):
        login(client, "wrong")
    assert login(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        login(client, "wrong")
    assert login(client, PASSWORD).status_code == 302
