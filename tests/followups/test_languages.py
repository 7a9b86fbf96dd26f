"""Agents' languages: a Tibetan or English customer's case goes to a speaker who can take it."""

from collections.abc import Callable
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from followups.assignment import case_assign, language_flag
from followups.cases import case_open
from followups.models import Agent, Case, CaseStatus, Team
from surveys.models import Customer, Response
from tests.factories import AgentFactory, TeamFactory

pytestmark = pytest.mark.django_db

FRIDAY_NOON = datetime(2026, 11, 20, 12, tzinfo=ZoneInfo("Asia/Shanghai"))
NIGHTS = {"shift_start": time(22), "shift_end": time(6), "time_zone": "Asia/Shanghai"}
TIBETAN = ["zh-hans", "bo"]


@pytest.fixture
def team(db: None) -> Team:
    return TeamFactory(name="Lhasa", regions=["BJ"])


@pytest.fixture
def case_for(detractor: Callable[..., Response]) -> Callable[..., Case]:
    """A waiting case of a customer who reads `language` (zh-hans, bo, en or bo-zh)."""
    phones = iter(f"+86139000002{n:02d}" for n in range(100))

    def make(language: str) -> Case:
        response = detractor(next(phones))
        Customer.objects.filter(pk=response.customer_id).update(language=language)
        case = case_open(response=response)
        assert case is not None
        return case

    return make


def load(agent: Agent, count: int, case_for: Callable[..., Case]) -> None:
    """Give the agent `count` open cases of Mandarin customers."""
    for _ in range(count):
        case = case_for("zh-hans")
        Case.objects.filter(pk=case.pk).update(agent=agent, status=CaseStatus.ASSIGNED)


def assigned(case: Case) -> tuple[Agent | None, str]:
    assigned_to = case_assign(case_id=case.pk)
    case.refresh_from_db()
    assert case.agent == assigned_to
    return assigned_to, case.needs_language


@pytest.mark.parametrize(
    ("customer", "agent", "flag"),
    [
        (("zh-hans",), ["zh-hans"], ""),
        (("zh-hans",), None, ""),
        (("bo",), ["zh-hans", "bo"], ""),
        (("bo",), ["zh-hans"], "bo"),
        (("bo",), None, "bo"),
        (("en",), ["en"], ""),
        (("en",), ["zh-hans", "bo"], "en"),
        (("bo", "zh-hans"), ["zh-hans"], ""),  # reads Chinese too: preferred, not needed
        (("bo", "zh-hans"), None, ""),
    ],
)
def test_a_case_needs_a_speaker_when_its_customer_reads_no_chinese_and_its_agent_lacks_theirs(
    customer: tuple[str, ...], agent: list[str] | None, flag: str
) -> None:
    assert language_flag(customer, agent) == flag


@time_machine.travel(FRIDAY_NOON, tick=False)
def test_a_tibetan_customer_goes_to_a_tibetan_speaker_on_shift_over_a_less_loaded_agent(
    team: Team, case_for: Callable[..., Case]
) -> None:
    AgentFactory(team=team)  # no case at all
    speaker = AgentFactory(team=team, languages=TIBETAN)
    load(speaker, 3, case_for)
    assert assigned(case_for("bo")) == (speaker, "")


@time_machine.travel(FRIDAY_NOON, tick=False)
def test_among_several_tibetan_speakers_the_least_loaded_gets_the_case(
    team: Team, case_for: Callable[..., Case]
) -> None:
    AgentFactory(team=team)
    busy = AgentFactory(team=team, languages=TIBETAN)
    free = AgentFactory(team=team, languages=["bo"])
    load(busy, 2, case_for)
    load(free, 1, case_for)
    assert assigned(case_for("bo")) == (free, "")


@time_machine.travel(FRIDAY_NOON, tick=False)
def test_without_a_tibetan_speaker_on_shift_the_case_goes_to_the_team_as_usual_and_is_flagged(
    team: Team, case_for: Callable[..., Case]
) -> None:
    AgentFactory(team=team, languages=TIBETAN, **NIGHTS)  # asleep at noon
    AgentFactory(team=team, languages=TIBETAN, is_available=False)
    mandarin = AgentFactory(team=team)
    assert assigned(case_for("bo")) == (mandarin, "bo")


@time_machine.travel(FRIDAY_NOON, tick=False)
def test_a_tibetan_speaker_at_capacity_gets_no_more_and_the_case_is_flagged(
    team: Team, case_for: Callable[..., Case]
) -> None:
    speaker = AgentFactory(team=team, languages=TIBETAN, capacity=1)
    load(speaker, 1, case_for)
    mandarin = AgentFactory(team=team)
    load(mandarin, 3, case_for)
    assert assigned(case_for("bo")) == (mandarin, "bo")
    assert speaker.cases.count() == 1


@time_machine.travel(FRIDAY_NOON, tick=False)
def test_a_waiting_tibetan_case_is_flagged_and_the_flag_goes_when_a_speaker_takes_it(
    team: Team, case_for: Callable[..., Case]
) -> None:
    speaker = AgentFactory(team=team, languages=TIBETAN, is_available=False)
    case = case_for("bo")
    assert assigned(case) == (None, "bo")
    Agent.objects.filter(pk=speaker.pk).update(is_available=True)
    assert assigned(case) == (speaker, "")


@time_machine.travel(FRIDAY_NOON, tick=False)
def test_a_customer_who_reads_tibetan_and_chinese_prefers_a_tibetan_speaker_but_needs_none(
    team: Team, case_for: Callable[..., Case]
) -> None:
    mandarin = AgentFactory(team=team)
    speaker = AgentFactory(team=team, languages=TIBETAN, capacity=2)
    load(speaker, 1, case_for)
    assert assigned(case_for("bo-zh")) == (speaker, "")
    assert assigned(case_for("bo-zh")) == (mandarin, "")  # the speaker is full: no flag


@time_machine.travel(FRIDAY_NOON, tick=False)
def test_an_english_customer_prefers_an_english_speaker_and_is_flagged_without_one(
    team: Team, case_for: Callable[..., Case]
) -> None:
    mandarin = AgentFactory(team=team)
    english = AgentFactory(team=team, languages=["zh-hans", "en"], capacity=1)
    assert assigned(case_for("en")) == (english, "")
    assert assigned(case_for("en")) == (mandarin, "en")


@time_machine.travel(FRIDAY_NOON, tick=False)
def test_a_mandarin_customer_goes_to_the_least_loaded_agent_whatever_they_speak(
    team: Team, case_for: Callable[..., Case]
) -> None:
    speaker = AgentFactory(team=team, languages=TIBETAN)
    mandarin = AgentFactory(team=team)
    load(mandarin, 1, case_for)
    assert assigned(case_for("zh-hans")) == (speaker, "")


@time_machine.travel(FRIDAY_NOON, tick=False)
def test_the_case_list_shows_and_filters_the_cases_that_need_a_tibetan_speaker(
    team: Team, case_for: Callable[..., Case], admin_client: Client
) -> None:
    AgentFactory(team=team)
    flagged, plain = case_for("bo"), case_for("zh-hans")
    case_assign(case_id=flagged.pk)
    case_assign(case_id=plain.pk)
    url = reverse("admin:followups_case_changelist")
    listed = admin_client.get(url, {"needs_language": "bo"})
    assert listed.status_code == 200
    assert [case.pk for case in listed.context["cl"].result_list] == [flagged.pk]
    assert "Needs a Tibetan speaker" in listed.content.decode()
    assert len(admin_client.get(url).context["cl"].result_list) == 2
    page = admin_client.get(reverse("admin:followups_case_change", args=[flagged.pk]))
    assert "Needs a Tibetan speaker" in page.content.decode()


def test_an_agents_languages_and_dialects_are_edited_in_the_admin(
    team: Team, admin_client: Client
) -> None:
    agent = AgentFactory(team=team, name="Dolma")
    url = reverse("admin:followups_agent_change", args=[agent.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {
        **{k: v for k, v in form.initial.items() if v is not None and k != "languages"},
        "team": team.pk,
        "work_days": [0, 1, 2, 3, 4],
        "languages": ["zh-hans", "bo"],
        "dialects": "Amdo, Kham",
        "shift_start": "00:00",
        "shift_end": "00:00",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    agent.refresh_from_db()
    assert (agent.languages, agent.dialects) == (["zh-hans", "bo"], "Amdo, Kham")
    listed = admin_client.get(reverse("admin:followups_agent_changelist"))
    assert "Mandarin, Tibetan (Amdo, Kham)" in listed.content.decode()
