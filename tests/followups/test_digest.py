import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core import mail
from django.db import connection
from pytest_django import Settings

from followups import digest
from followups.assignment import case_assign
from followups.cases import case_open
from followups.digest import digests_send, nps_score
from followups.models import Case, DigestDelivery, Team
from followups.roles import SUPERVISORS
from surveys.models import ReasonCategory, Response, ResponseReason
from tests.factories import AgentFactory, TeamFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


MONDAY_10 = shanghai(2026, 11, 23, 10, 0)
TUESDAY_8 = shanghai(2026, 11, 24, 8, 0)  # the digest time: Monday is "yesterday"


@dataclass
class World:
    supervisor: User
    north_lead: User
    east_lead: User
    north: Team
    east: Team
    cases: dict[str, Case]


def answer(
    detractor: Callable[..., Response],
    *,
    phone: str,
    score: int,
    region: str,
    touchpoint: str = "hotline",
    comment: str = "",
) -> Response:
    response = detractor(phone=phone, region=region, score=score)
    response.comment = comment
    response.save(update_fields=["comment"])
    response.interaction.touchpoint = touchpoint
    response.interaction.save(update_fields=["touchpoint"])
    return response


def open_and_assign(response: Response) -> Case:
    case = case_open(response=response)
    assert case is not None
    case_assign(case_id=case.pk)
    case.refresh_from_db()
    return case


@pytest.fixture
def world(detractor: Callable[..., Response]) -> World:
    """North (BJ, led by Lena) and East (SH, led by Eric), both on Shanghai time; Sue
    supervises. Sunday: one BJ detractor, still not called back. Monday: in BJ a detractor
    on the hotline (network reason), a promoter on the hotline and a passive in a store;
    in SH a detractor in a store."""
    group, _ = Group.objects.get_or_create(name=SUPERVISORS)
    supervisor = User.objects.create_user("sue", email="sue@example.com")
    group.user_set.add(supervisor)
    north_lead = User.objects.create_user("lena", email="lena@example.com")
    east_lead = User.objects.create_user("eric", email="eric@example.com")
    north = TeamFactory(name="North", regions=["BJ"], lead=north_lead)
    east = TeamFactory(name="East", regions=["SH"], lead=east_lead)
    AgentFactory(team=north)
    AgentFactory(team=east)
    cases = {}
    with time_machine.travel(MONDAY_10 - timedelta(days=1), tick=False):
        sunday = answer(detractor, phone="+8613900000001", score=1, region="BJ")
        cases["sunday"] = open_and_assign(sunday)
    with time_machine.travel(MONDAY_10, tick=False):
        network = answer(
            detractor,
            phone="+8613900000002",
            score=2,
            region="BJ",
            comment="No signal & <slow> data",
        )
        ResponseReason.objects.create(
            response=network, category=ReasonCategory.objects.get(code="network")
        )
        cases["network"] = open_and_assign(network)
        answer(detractor, phone="+8613900000003", score=10, region="BJ")
        answer(detractor, phone="+8613900000004", score=8, region="BJ", touchpoint="store_own")
        queue = answer(
            detractor,
            phone="+8613900000005",
            score=5,
            region="SH",
            touchpoint="store_own",
            comment="Long queue",
        )
        cases["queue"] = open_and_assign(queue)
    return World(supervisor, north_lead, east_lead, north, east, cases)


@pytest.fixture
def send(django_capture_on_commit_callbacks: Any) -> Callable[[datetime], int]:
    """Run the digest job at a given time, with its after-commit emails."""

    def run(at: datetime) -> int:
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
            return digests_send()

    return run


def digest_for(email: str) -> mail.EmailMultiAlternatives:
    [message] = [m for m in mail.outbox if m.to == [email]]
    assert isinstance(message, mail.EmailMultiAlternatives)
    return message


def test_nps_is_the_share_of_promoters_minus_the_share_of_detractors() -> None:
    assert nps_score(promoters=2, detractors=1, total=4) == 25
    assert nps_score(promoters=0, detractors=2, total=3) == -67
    assert nps_score(promoters=0, detractors=0, total=0) is None


def test_a_supervisor_sees_every_teams_detractors_cases_and_nps(
    world: World, send: Callable[[datetime], int]
) -> None:
    send(TUESDAY_8)
    body = digest_for("sue@example.com").body
    assert "NPS daily digest 2026-11-23 (all teams)" in body
    assert "Yesterday's detractors: 2" in body
    assert "- 2/10, Hotline, Network / signal\n  No signal & <slow> data" in body
    assert f"Case #{world.cases['network'].pk}: " in body
    assert f"/admin/followups/case/{world.cases['network'].pk}/change/" in body
    assert "- 5/10, Store (own)\n  Long queue" in body
    assert "1/10" not in body  # Sunday's detractor is not yesterday's
    assert "- East: 1 open, 0 breached" in body
    assert "- North: 2 open, 2 breached" in body
    assert "In breach: 2" in body
    network_case = world.cases["network"].pk
    assert f"- Case #{network_case} (P2, North): first contact due 2026-11-23 18:00" in body
    assert "- Hotline: 0 (n=2)" in body
    assert "- Store (own): -50 (n=2)" in body
    assert "- All: -25 (n=4)" in body


def test_a_team_lead_sees_only_their_teams(world: World, send: Callable[[datetime], int]) -> None:
    send(TUESDAY_8)
    body = digest_for("lena@example.com").body
    assert "(North)" in body
    assert "Yesterday's detractors: 1" in body
    assert "No signal" in body
    assert "Long queue" not in body
    assert "- North: 2 open, 2 breached" in body
    assert "East" not in body
    assert "- Hotline: 0 (n=2)" in body
    assert "- Store (own): 0 (n=1)" in body
    assert "- All: 0 (n=3)" in body
    east = digest_for("eric@example.com").body
    assert "- East: 1 open, 0 breached" in east
    assert "In breach" not in east


def test_the_digest_has_a_plain_text_and_an_escaped_html_part(
    world: World, send: Callable[[datetime], int]
) -> None:
    send(TUESDAY_8)
    message = digest_for("sue@example.com")
    assert message.subject == "[NPS] Daily digest for 2026-11-23"
    assert "No signal & <slow> data" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "No signal &amp; &lt;slow&gt; data" in html
    case_id = world.cases["network"].pk
    assert f'<a href="/admin/followups/case/{case_id}/change/">#{case_id}</a>' in html
    assert '<td>Store (own)</td><td align="right">-50</td>' in html


def test_each_recipient_gets_one_digest_a_day_even_when_the_job_runs_twice(
    world: World, send: Callable[[datetime], int]
) -> None:
    assert send(TUESDAY_8) == 3
    assert send(TUESDAY_8 + timedelta(minutes=5)) == 0
    assert sorted(m.to[0] for m in mail.outbox) == [
        "eric@example.com",
        "lena@example.com",
        "sue@example.com",
    ]
    assert send(TUESDAY_8 + timedelta(days=1)) == 3
    assert len(mail.outbox) == 6
    assert DigestDelivery.objects.filter(sent_at__isnull=False).count() == 6


def test_nothing_is_sent_before_the_configured_local_time(
    world: World, send: Callable[[datetime], int], settings: Settings
) -> None:
    assert send(TUESDAY_8 - timedelta(minutes=1)) == 0
    settings.NPS_DIGEST_TIME = "09:30"
    assert send(shanghai(2026, 11, 24, 9, 29)) == 0
    assert send(shanghai(2026, 11, 24, 9, 30)) == 3
    assert len(mail.outbox) == 3


def test_a_team_lead_gets_the_digest_at_their_teams_local_time(
    world: World, send: Callable[[datetime], int]
) -> None:
    Team.objects.filter(pk=world.east.pk).update(time_zone="Europe/London")
    send(TUESDAY_8)
    assert "eric@example.com" not in [m.to[0] for m in mail.outbox]
    send(datetime(2026, 11, 24, 8, 0, tzinfo=ZoneInfo("Europe/London")))
    assert "Yesterday's detractors: 1" in digest_for("eric@example.com").body


def test_a_supervisor_who_leads_a_team_gets_the_supervisors_digest_only(
    world: World, send: Callable[[datetime], int]
) -> None:
    Team.objects.filter(pk=world.north.pk).update(lead=world.supervisor)
    assert send(TUESDAY_8) == 2
    assert "(all teams)" in digest_for("sue@example.com").body


def test_a_failed_digest_is_recorded_and_not_sent_again(
    world: World, send: Callable[[datetime], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_send(message: Any, fail_silently: bool = False) -> int:
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(digest.EmailMultiAlternatives, "send", broken_send)
    assert send(TUESDAY_8) == 3
    assert send(TUESDAY_8 + timedelta(minutes=5)) == 0
    assert set(DigestDelivery.objects.values_list("error", "sent_at")) == {("smtp down", None)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs two transactions inserting at once: runs in the PostgreSQL pass",
)
def test_two_concurrent_runs_send_one_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    group, _ = Group.objects.get_or_create(name=SUPERVISORS)
    group.user_set.add(User.objects.create_user("sue", email="sue@example.com"))
    # Both runs find no delivery for today before either claims one.
    both_checked = threading.Barrier(2, timeout=10)
    recipients = digest.digest_recipients

    def recipients_after_both_checked() -> list[digest.Recipient]:
        both_checked.wait()
        return recipients()

    monkeypatch.setattr(digest, "digest_recipients", recipients_after_both_checked)
    results: list[int] = []

    def run() -> None:
        try:
            results.append(digests_send(now=TUESDAY_8))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert len(mail.outbox) == 1
    assert DigestDelivery.objects.get().sent_at is not None
