"""After logging in, each role lands where it works."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.followups.personas import Personas, personas_make

LOGIN = reverse("admin:login")


@pytest.fixture
def people(db: Any) -> Personas:
    personas = personas_make()
    for user in User.objects.all():
        user.set_password("correct horse battery staple")
        user.save()
    return personas


def log_in(client: Client, user: User, next_url: str = "/admin/") -> str:
    form = {"username": user.username, "password": "correct horse battery staple"}
    answer = client.post(f"{LOGIN}?next={next_url}", {**form, "next": next_url})
    assert answer.status_code == 302
    return answer["Location"]


@pytest.mark.parametrize(
    ("who", "lands_on"),
    [
        ("agent", "admin:followups_case_mine"),
        ("lead", "admin:followups_case_changelist"),
        ("supervisor", "dashboard"),
    ],
)
def test_each_role_lands_where_it_works(
    people: Personas, client: Client, who: str, lands_on: str
) -> None:
    assert log_in(client, getattr(people, who)) == reverse(lands_on)


def test_a_superuser_keeps_the_index_and_an_explicit_next_is_kept(
    people: Personas, client: Client
) -> None:
    User.objects.create_superuser("root", password="correct horse battery staple")
    assert log_in(client, User.objects.get(username="root")) == reverse("admin:index")
    cases = reverse("admin:followups_case_changelist")
    assert log_in(Client(), people.agent, next_url=cases) == cases
