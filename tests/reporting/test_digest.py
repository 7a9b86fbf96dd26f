"""The daily digest: the dashboard's figures and scope, once a day each, in both languages."""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core import mail
from django.db import connection
from django.test import Client
from pytest_django import Settings

from followups.assignment import case_assign
from followups.cases import case_open
from followups.models import Case, DigestDelivery, RoutingRule, Team
from followups.roles import SUPERVISORS
from nps.reporting import digest
from nps.reporting.digest import digest_context, digests_send
from nps.reporting.refresh import rollups_refresh_day
from nps.reporting.stats import Estimate
from surveys.models import (
    Category,
    Invitation,
    InvitationStatus,
    ReasonCategory,
    Response,
    ResponseReason,
)
from tests.factories import AgentFactory, CustomerFactory, InteractionFactory, TeamFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


SUNDAY, MONDAY = date(2026, 11, 22), date(2026, 11, 23)
MONDAY_10 = shanghai(2026, 11, 23, 10, 0)
TUESDAY_8 = shanghai(2026, 11, 24, 8, 0)  # the digest time: Monday is "yesterday"


@dataclass
class World:
    supervisor: User
    north_lead: User
    east_lead: User
    vip_lead: User
    north: Team
    east: Team
    vip: Team
    cases: dict[str, Case]


def answer(
    *,
    phone: str,
    score: int,
    region: str,
    tier: str = "B",
    touchpoint: str = "hotline",
    comment: str = "",
) -> Response:
    """An answered survey, stored now: raw rows, no signal."""
    customer = CustomerFactory(phone=phone, region=region, tier=tier)
    interaction = InteractionFactory(customer=customer, touchpoint=touchpoint)
    invitation = Invitation.objects.create(
        interaction=interaction, customer=customer, status=InvitationStatus.RESPONDED
    )
    return Response.objects.create(
        invitation=invitation,
        customer=customer,
        interaction=interaction,
        score=score,
        category=Category.for_score(score),
        comment=comment,
    )


def open_and_assign(response: Response) -> Case:
    case = case_open(response=response)
    assert case is not None
    case_assign(case_id=case.pk)
    case.refresh_from_db()
    return case


def staff(username: str) -> User:
    return User.objects.create_user(username, email=f"{username}@example.com", is_staff=True)


@pytest.fixture
def world(settings: Settings) -> World:
    """North (BJ, led by Lena) and East (SH, led by Eric) by region; VIP (led by Vera, no
    region) takes every tier-A customer by a routing rule; Sue supervises; all on Shanghai
    time; an NPS is shown from 2 answers. Sunday: one BJ detractor, still not called back.
    Monday, tier B: in BJ a detractor on the hotline (network reason), a promoter on the
    hotline and a passive in a store; in SH a detractor in a store. Monday, tier A (VIP):
    a BJ detractor on the hotline, an SH promoter on the hotline and one in a store."""
    settings.NPS_DASHBOARD_MIN_SAMPLE = 2
    group, _ = Group.objects.get_or_create(name=SUPERVISORS)
    supervisor = staff("sue")
    group.user_set.add(supervisor)
    north_lead, east_lead, vip_lead = staff("lena"), staff("eric"), staff("vera")
    north = TeamFactory(name="North", regions=["BJ"], lead=north_lead)
    east = TeamFactory(name="East", regions=["SH"], lead=east_lead)
    vip = TeamFactory(name="VIP", regions=[], lead=vip_lead)
    RoutingRule.objects.create(order=1, tier="A", team=vip)
    for team in (north, east, vip):
        AgentFactory(team=team)
    cases = {}
    with time_machine.travel(MONDAY_10 - timedelta(days=1), tick=False):
        sunday = answer(phone="+8613900000001", score=1, region="BJ")
        cases["sunday"] = open_and_assign(sunday)
    with time_machine.travel(MONDAY_10, tick=False):
        network = answer(
            phone="+8613900000002", score=2, region="BJ", comment="No signal & <slow> data"
        )
        ResponseReason.objects.create(
            response=network, category=ReasonCategory.objects.get(code="network")
        )
        cases["network"] = open_and_assign(network)
        answer(phone="+8613900000003", score=10, region="BJ")
        answer(phone="+8613900000004", score=8, region="BJ", touchpoint="store_own")
        queue = answer(
            phone="+8613900000005",
            score=5,
            region="SH",
            touchpoint="store_own",
            comment="Long queue",
        )
        cases["queue"] = open_and_assign(queue)
        rude = answer(phone="+8613900000006", score=3, region="BJ", tier="A", comment="Rude")
        cases["rude"] = open_and_assign(rude)
        answer(phone="+8613900000007", score=9, region="SH", tier="A")
        answer(phone="+8613900000008", score=10, region="SH", tier="A", touchpoint="store_own")
    for day in (SUNDAY, MONDAY):
        rollups_refresh_day(day=day)
    return World(supervisor, north_lead, east_lead, vip_lead, north, east, vip, cases)


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


def shown(e: Estimate) -> tuple[int, int, float | None, float | None]:
    """An NPS as a reader sees it: n, detractors, and the score and margin if shown."""
    if not e.sufficient:
        return (e.n, e.counts.detractors, None, None)
    return (e.n, e.counts.detractors, round(e.nps or 0.0, 1), round(e.moe, 1))


def dashboard_of(user: User, start: date, end: date) -> Any:
    client = Client()
    client.force_login(user)
    with time_machine.travel(TUESDAY_8, tick=False):
        page = client.get("/dashboard/", {"start": start, "end": end})
    assert page.status_code == 200
    return page.context


@pytest.mark.parametrize("lead", ["vip_lead", "north_lead"])
def test_a_leads_digest_gives_the_dashboards_figures_for_the_routed_team(
    world: World, lead: str
) -> None:
    user = getattr(world, lead)
    scope = tuple(Team.objects.filter(lead=user).values_list("pk", flat=True))
    with time_machine.travel(TUESDAY_8, tick=False):
        got = digest_context(team_scope=scope, day=TUESDAY_8.date())
    board = dashboard_of(user, MONDAY, MONDAY)
    assert shown(got["nps"]) == shown(board["headline"].current)
    assert got["detractor_count"] == board["headline"].current.counts.detractors
    [by_touchpoint] = [b for b in board["breakdowns"] if b.dimension == "touchpoint"]
    assert [(r["touchpoint"], shown(r["estimate"])) for r in got["nps_rows"]] == [
        (row.label, shown(row.estimate)) for row in by_touchpoint.rows
    ]
    # Every open case opened on Sunday or Monday: the dashboard's live counts cover them all.
    loop = {row.key: row.value for row in dashboard_of(user, SUNDAY, MONDAY)["closed_loop"]}
    assert sum(row["open"] for row in got["team_rows"]) == loop["open_now"]
    assert sum(row["breached"] for row in got["team_rows"]) == loop["overdue_now"]
    assert got["breached_count"] == loop["overdue_now"]


def test_a_digest_costs_the_same_queries_whatever_it_lists(
    world: World, django_assert_num_queries: Any
) -> None:
    with time_machine.travel(MONDAY_10, tick=False):
        for i in range(5):
            open_and_assign(answer(phone=f"+861390000010{i}", score=0, region="SH", tier="A"))
    rollups_refresh_day(day=MONDAY)
    # NPS, by touchpoint, detractors and their reasons, teams, cases by team, overdue and count
    with time_machine.travel(TUESDAY_8, tick=False), django_assert_num_queries(8):
        got = digest_context(team_scope=None, day=TUESDAY_8.date())
    assert got["detractor_count"] == len(got["detractors"]) == 8


def test_a_team_routed_by_tier_gets_its_customers_in_every_region(
    world: World, send: Callable[[datetime], int]
) -> None:
    send(TUESDAY_8)
    body = digest_for("vera@example.com").body
    assert "(VIP)" in body
    assert "Yesterday's detractors: 1" in body
    assert f"- 3/10, Hotline\n  Rude\n  Case #{world.cases['rude'].pk}: " in body
    assert "- VIP: 1 open, 1 breached" in body
    assert "- Hotline: 0 ± 73 (n=2)" in body
    assert "- Store (own): insufficient data (n=1, minimum 2)" in body
    assert "- All: 33 ± 68 (n=3)" in body


def test_a_team_lead_sees_only_what_routing_gives_their_teams(
    world: World, send: Callable[[datetime], int]
) -> None:
    send(TUESDAY_8)
    body = digest_for("lena@example.com").body
    assert "(North)" in body
    assert "Yesterday's detractors: 1" in body
    assert "No signal" in body
    assert "Rude" not in body  # a BJ customer, but tier A: routed to VIP
    assert "Long queue" not in body
    assert "- North: 2 open, 2 breached" in body
    assert "East" not in body
    assert "- Hotline: 0 ± 73 (n=2)" in body
    assert "- Store (own): insufficient data (n=1, minimum 2)" in body
    assert "- All: 0 ± 61 (n=3)" in body
    east = digest_for("eric@example.com").body
    assert "- East: 1 open, 0 breached" in east
    assert "In breach" not in east


def test_a_supervisor_sees_every_teams_detractors_cases_and_nps(
    world: World, send: Callable[[datetime], int]
) -> None:
    send(TUESDAY_8)
    body = digest_for("sue@example.com").body
    assert "NPS daily digest 2026-11-23 (All teams)" in body
    assert "Day in Asia/Shanghai, times in Asia/Shanghai" in body
    assert "Yesterday's detractors: 3" in body
    assert "- 2/10, Hotline, Network / signal\n  No signal & <slow> data" in body
    assert f"Case #{world.cases['network'].pk}: " in body
    assert f"/admin/followups/case/{world.cases['network'].pk}/change/" in body
    assert "- 5/10, Store (own)\n  Long queue" in body
    assert "1/10" not in body  # Sunday's detractor is not yesterday's
    assert "- East: 1 open, 0 breached" in body
    assert "- North: 2 open, 2 breached" in body
    assert "- VIP: 1 open, 1 breached" in body
    assert "In breach: 3" in body
    network_case = world.cases["network"].pk
    assert f"- Case #{network_case} (P2, North): first contact due 2026-11-23 18:00" in body
    assert "- Hotline: 0 ± 66 (n=4)" in body
    assert "- Store (own): 0 ± 61 (n=3)" in body
    assert "- All: 0 ± 54 (n=7)" in body


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
    assert '<td>Store (own)</td><td align="right">0 ± 61 (n=3)</td>' in html


def test_the_digest_is_written_in_the_sites_language(
    world: World, send: Callable[[datetime], int], settings: Settings
) -> None:
    settings.LANGUAGE_CODE = "zh-hans"
    send(TUESDAY_8)
    message = digest_for("vera@example.com")
    assert message.subject == "[NPS] 2026-11-23 日报"
    assert "NPS 日报 2026-11-23 (VIP)" in message.body
    assert "昨日贬损者: 1" in message.body
    assert "样本不足（n=1，最少 2）" in message.body
    [(html, _mimetype)] = message.alternatives
    assert "昨日贬损者: 1" in html
    assert "Yesterday" not in message.body + html


def test_each_recipient_gets_one_digest_a_day_even_when_the_job_runs_twice(
    world: World, send: Callable[[datetime], int]
) -> None:
    assert send(TUESDAY_8) == 4
    assert send(TUESDAY_8 + timedelta(minutes=5)) == 0
    assert sorted(m.to[0] for m in mail.outbox) == [
        "eric@example.com",
        "lena@example.com",
        "sue@example.com",
        "vera@example.com",
    ]
    assert send(TUESDAY_8 + timedelta(days=1)) == 4
    assert len(mail.outbox) == 8
    assert DigestDelivery.objects.filter(sent_at__isnull=False).count() == 8


def test_nothing_is_sent_before_the_configured_local_time(
    world: World, send: Callable[[datetime], int], settings: Settings
) -> None:
    assert send(TUESDAY_8 - timedelta(minutes=1)) == 0
    settings.NPS_DIGEST_TIME = "09:30"
    assert send(shanghai(2026, 11, 24, 9, 29)) == 0
    assert send(shanghai(2026, 11, 24, 9, 30)) == 4
    assert len(mail.outbox) == 4


def test_a_team_lead_gets_the_digest_at_their_teams_local_time(
    world: World, send: Callable[[datetime], int]
) -> None:
    Team.objects.filter(pk=world.east.pk).update(time_zone="Europe/London")
    send(TUESDAY_8)
    assert "eric@example.com" not in [m.to[0] for m in mail.outbox]
    send(datetime(2026, 11, 24, 8, 0, tzinfo=ZoneInfo("Europe/London")))
    body = digest_for("eric@example.com").body
    assert "Yesterday's detractors: 1" in body
    assert "Day in Asia/Shanghai, times in Europe/London" in body


def test_only_staff_who_may_read_the_dashboard_get_a_digest(
    world: World, send: Callable[[datetime], int]
) -> None:
    User.objects.filter(pk=world.east_lead.pk).update(is_staff=False)
    User.objects.create_user("root", email="root@example.com", is_staff=True, is_superuser=True)
    staff("agent")  # staff, but neither a supervisor nor a lead
    assert send(TUESDAY_8) == 4
    assert sorted(m.to[0] for m in mail.outbox) == [
        "lena@example.com",
        "root@example.com",
        "sue@example.com",
        "vera@example.com",
    ]
    assert "(All teams)" in digest_for("root@example.com").body


def test_a_supervisor_who_leads_a_team_gets_the_supervisors_digest_only(
    world: World, send: Callable[[datetime], int]
) -> None:
    Team.objects.filter(pk=world.north.pk).update(lead=world.supervisor)
    assert send(TUESDAY_8) == 3
    assert "(All teams)" in digest_for("sue@example.com").body


def test_a_failed_digest_is_recorded_and_not_sent_again(
    world: World, send: Callable[[datetime], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_send(message: Any, fail_silently: bool = False) -> int:
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(digest.EmailMultiAlternatives, "send", broken_send)
    assert send(TUESDAY_8) == 4
    assert send(TUESDAY_8 + timedelta(minutes=5)) == 0
    assert set(DigestDelivery.objects.values_list("error", "sent_at")) == {("smtp down", None)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs two transactions inserting at once: runs in the PostgreSQL pass",
)
def test_two_concurrent_runs_send_one_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    group, _ = Group.objects.get_or_create(name=SUPERVISORS)
    group.user_set.add(staff("sue"))
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
