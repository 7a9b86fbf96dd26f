"""Password policy: every admin form that sets a password refuses weak ones.

At least 12 characters, not a common password, not all digits, not like the user's name.
"""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db
OLD = "violet-harbour-7391"
GOOD = "amber-lantern-crossing-42"

WEAK = [
    pytest.param("1", "password_too_short", id="one-character"),
    pytest.param("Xq7#kz2m!Rw", "password_too_short", id="eleven-characters"),
    pytest.param("qwerty123456", "password_too_common", id="common"),
    pytest.param("274619385027", "password_entirely_numeric", id="all-digits"),
    pytest.param("national12345", "password_too_similar", id="like-the-username"),
]


@pytest.fixture
def agent(db: Any) -> User:
    """national1, a staff member who may not manage users."""
    return User.objects.create_user("national1", password=OLD, is_staff=True)


@pytest.fixture
def superuser_client(db: Any) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password=OLD))
    return client


def codes(form: Any, field: str) -> set[str]:
    return {error.code for error in form.errors.as_data().get(field, [])}


@pytest.mark.parametrize(("password", "code"), WEAK)
def test_a_staff_user_cannot_change_their_own_password_to_a_weak_one(
    client: Client, agent: User, password: str, code: str
) -> None:
    client.force_login(agent)
    answer = client.post(
        "/admin/password_change/",
        {"old_password": OLD, "new_password1": password, "new_password2": password},
    )
    assert answer.status_code == 200  # the form again
    assert code in codes(answer.context["form"], "new_password2")
    agent.refresh_from_db()
    assert agent.check_password(OLD)


def test_a_staff_user_can_change_their_own_password_to_a_good_one(
    client: Client, agent: User
) -> None:
    client.force_login(agent)
    answer = client.post(
        "/admin/password_change/",
        {"old_password": OLD, "new_password1": GOOD, "new_password2": GOOD},
    )
    assert answer.status_code == 302
    agent.refresh_from_db()
    assert agent.check_password(GOOD)


@pytest.mark.parametrize(("password", "code"), WEAK)
def test_an_admin_cannot_set_a_weak_password_for_a_staff_user(
    superuser_client: Client, agent: User, password: str, code: str
) -> None:
    answer = superuser_client.post(
        f"/admin/auth/user/{agent.pk}/password/",
        {"password1": password, "password2": password, "usable_password": "true"},
    )
    assert answer.status_code == 200
    assert code in codes(answer.context["form"], "password2")
    agent.refresh_from_db()
    assert agent.check_password(OLD)


def test_an_admin_can_set_a_good_password_for_a_staff_user(
    superuser_client: Client, agent: User
) -> None:
    answer = superuser_client.post(
        f"/admin/auth/user/{agent.pk}/password/",
        {"password1": GOOD, "password2": GOOD, "usable_password": "true"},
    )
    assert answer.status_code == 302
    agent.refresh_from_db()
    assert agent.check_password(GOOD)


@pytest.mark.parametrize(("password", "code"), WEAK)
def test_an_admin_cannot_create_a_user_with_a_weak_password(
    superuser_client: Client, password: str, code: str
) -> None:
    answer = superuser_client.post(
        "/admin/auth/user/add/",
        {"username": "national1", "password1": password, "password2": password,
         "usable_password": "true"},
    )  # fmt: skip
    assert answer.status_code == 200
    assert code in codes(answer.context["adminform"].form, "password2")
    assert not User.objects.filter(username="national1").exists()


def test_an_admin_can_create_a_user_with_a_good_password(superuser_client: Client) -> None:
    answer = superuser_client.post(
        "/admin/auth/user/add/",
        {"username": "national1", "password1": GOOD, "password2": GOOD,
         "usable_password": "true"},
    )  # fmt: skip
    assert answer.status_code == 302
    assert User.objects.get(username="national1").check_password(GOOD)
