"""Assigning cases to agents, and taking them back when an agent goes away.

Routing (followups.routing) picks the team; the team's policy picks among its agents who
can take a case now (agent_can_take: available, on shift now by followups.shifts, and
under capacity, open cases counted). A reopened case goes back to its agent by the same
rule (agent_can_take_now). Freed capacity is used at once: when a case leaves the open
statuses or closes, and when an agent comes back, the team's waiting cases are queued for
assignment after commit; the periodic sweeper (cases_assign_waiting) stays the safety
net, and is how an agent whose shift starts gets work within a minute.
Least loaded: fewest open cases, ties to the lowest id. Round robin: the next such agent
after the team's last assigned one, in id order, wrapping.

Languages (language_wanted, language_flag): a customer whose first language is Tibetan or
English goes to an agent who speaks it when one can take the case now (the team's policy
among those speakers); otherwise the case is assigned as usual and flagged
`needs_language`, unless the customer also reads Chinese (bo-zh: preferred, not needed).
Mandarin is the default and asks for nothing. The flag is cleared when a speaker takes it.

Concurrency: case_assign locks the case row, then the team row, before counting load.
Every assignment to a team's agents therefore runs one at a time per team and counts
what the previous one committed: nobody goes over capacity and no case is assigned
twice. agent_set_away takes the same team lock, so an agent cannot be picked while
their cases are being handed back.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from followups.history import case_event_record, case_events_record
from followups.models import OPEN_STATUSES, Agent, AssignmentPolicy, Case, CaseStatus, Team
from followups.models.teams import SpokenLanguage
from followups.routing import Router, team_for_case
from followups.shifts import on_shift
from surveys.queue import task_queue
from surveys.rowsupdate import rows_update

HELD_STATUSES = (CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS)  # open and with an agent


# ---------------------------------------------------------------- pure rules


def pick_least_loaded(candidates: Sequence[tuple[int, int]]) -> int | None:
    """The id with the fewest open cases among (agent id, load) pairs; ties to the lowest id."""
    return min(candidates, key=lambda c: (c[1], c[0]))[0] if candidates else None


def pick_round_robin(candidate_ids: Sequence[int], *, last_id: int | None) -> int | None:
    """The first id after `last_id` in id order, wrapping to the lowest."""
    ordered = sorted(candidate_ids)
    if not ordered:
        return None
    if last_id is None:
        return ordered[0]
    return next((pk for pk in ordered if pk > last_id), ordered[0])


def language_wanted(customer_languages: Sequence[str]) -> str:
    """The language to prefer a speaker of: the customer's first, unless Mandarin ("")."""
    first = customer_languages[0] if customer_languages else SpokenLanguage.ZH_HANS
    return "" if first == SpokenLanguage.ZH_HANS else first


def language_flag(customer_languages: Sequence[str], agent_languages: Sequence[str] | None) -> str:
    """The language a case still needs a speaker of ("" none); None: no agent yet.

    A customer who also reads Chinese (bo-zh) needs nobody: any agent can serve them.
    """
    wanted = language_wanted(customer_languages)
    if not wanted or SpokenLanguage.ZH_HANS in customer_languages:
        return ""
    return "" if agent_languages is not None and wanted in agent_languages else wanted


# ---------------------------------------------------------------- selection


def with_load(agents: QuerySet[Agent]) -> QuerySet[Agent]:
    """Each agent annotated with `load`: their open cases."""
    return agents.annotate(load=Count("cases", filter=Q(cases__status__in=OPEN_STATUSES)))


def agents_with_load(*, team_id: int) -> list[Agent]:
    """The team's available agents, each annotated with `load` (open cases), in id order."""
    return list(with_load(Agent.objects.filter(team_id=team_id, is_available=True)).order_by("id"))


def agent_can_take(agent: Agent, now: datetime) -> bool:
    """The rule for giving an agent a case: available, on shift now and under capacity.

    `agent` carries `load` (with_load).
    """
    load: int = agent.load  # type: ignore[attr-defined]
    return agent.is_available and load < agent.capacity and on_shift(agent, now)


def agent_pick(
    *, team: Team, now: datetime, language: str = "", agents: list[Agent] | None = None
) -> Agent | None:
    """The agent the team's policy picks among those who can take a case now.

    With `language`, among those who speak it if any of them can; else among all.
    `agents`: the team's agents_with_load, read once under the team lock for a batch.
    """
    if agents is None:
        agents = agents_with_load(team_id=team.pk)
    eligible = {agent.pk: agent for agent in agents if agent_can_take(agent, now)}
    speakers = {pk: agent for pk, agent in eligible.items() if language in agent.languages}
    if language and speakers:
        eligible = speakers
    if team.policy == AssignmentPolicy.ROUND_ROBIN:
        chosen = pick_round_robin(list(eligible), last_id=team.last_assigned_agent_id)
    else:
        loads = [(pk, agent.load) for pk, agent in eligible.items()]  # type: ignore[attr-defined]
        chosen = pick_least_loaded(loads)
    return eligible.get(chosen) if chosen is not None else None


def agent_took(team: Team, agent: Agent) -> None:
    """`agent` (picked by agent_pick, under the team's lock) took one more piece of work:
    count it in their load for the next pick of the batch, and turn a round-robin team."""
    agent.load += 1  # type: ignore[attr-defined]
    if team.policy == AssignmentPolicy.ROUND_ROBIN:
        Team.objects.filter(pk=team.pk).update(last_assigned_agent=agent)
        team.last_assigned_agent_id = agent.pk


def agent_can_take_now(*, agent_id: int, now: datetime) -> bool:
    """agent_can_take for one agent, counted under their team's lock (inside a transaction).

    The lock is case_assign's: an assignment running meanwhile cannot fill the last place.
    """
    team_id = Agent.objects.values_list("team_id", flat=True).get(pk=agent_id)
    Team.objects.select_for_update().get(pk=team_id)
    return agent_can_take(with_load(Agent.objects.filter(pk=agent_id)).get(), now)


def waiting_cases(*, team_id: int) -> QuerySet[Case]:
    """The team's cases waiting for an agent, most urgent and then oldest first."""
    return Case.objects.filter(team_id=team_id, status=CaseStatus.NEW, agent__isnull=True).order_by(
        "priority", "opened_at", "pk"
    )


# ---------------------------------------------------------------- services


def case_assign(*, case_id: int) -> Agent | None:
    """Assign a waiting case at most once, within capacity; None leaves it waiting, unassigned."""
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("customer", "response__interaction", "agent")
            .get(pk=case_id)
        )
        if case.agent_id is not None or case.status != CaseStatus.NEW:
            return case.agent  # taken already (a duplicate task, or a race we lost)
        routed = case.team if case.team_fixed else team_for_case(case)  # transferred: stays
        if routed is None:  # no rule, region or default route: the unrouted queue
            if case.team_id is not None:
                Case.objects.filter(pk=case.pk).update(team=None)
            return None
        # The team lock serialises assignments per team: the load counted next
        # includes everything committed by the assignment before this one.
        team = Team.objects.select_for_update().get(pk=routed.pk)
        return _assign_locked(case, team, agents_with_load(team_id=team.pk))


def cases_assign(*, case_ids: Sequence[int]) -> int:
    """Assign a burst of waiting cases in one pass: case_assign's rule for each, most
    urgent and oldest first, with one lock and one load count per team.

    Locks the cases (in id order), then each routed team (in id order), as case_assign
    locks a case then its team; each agent's load is counted once under the team lock
    and kept up to date here as cases are given, so nobody goes over capacity and a
    round-robin team turns as it would one case at a time. Routing reads its rules and
    teams once for the batch; the assigned cases are written in one statement and their
    "assigned" events in one insert. Returns how many were assigned.
    """
    with transaction.atomic():
        locked = list(
            Case.objects.select_for_update(of=("self",))
            .select_related("customer", "response__interaction", "team")
            .filter(pk__in=case_ids, status=CaseStatus.NEW, agent__isnull=True)
            .order_by("pk")
        )
        by_team: dict[int, list[Case]] = {}
        router = Router()
        for case in sorted(locked, key=lambda c: (c.priority, c.opened_at, c.pk)):
            routed = case.team if case.team_fixed else team_for_case(case, router=router)
            if routed is None:  # the unrouted queue
                if case.team_id is not None:
                    Case.objects.filter(pk=case.pk).update(team=None)
                continue
            by_team.setdefault(routed.pk, []).append(case)
        given: dict[int, dict[str, Any]] = {}
        events: list[tuple[int, str, dict[str, Any]]] = []
        for team_id in sorted(by_team):
            team = Team.objects.select_for_update().get(pk=team_id)
            agents = agents_with_load(team_id=team.pk)
            for case in by_team[team_id]:
                now = timezone.now()
                if (picked := _pick_locked(case, team, agents, now)) is not None:
                    agent, flag = picked
                    given[case.pk] = _given(team, agent, now, flag)
                    events.append((case.pk, "assigned", {"agent": agent.name, "team": team.name}))
        rows_update(Case, given)
        if events:
            case_events_record(events)
    return len(given)


def _pick_locked(
    case: Case, team: Team, agents: list[Agent], now: datetime
) -> tuple[Agent, str] | None:
    """The agent the team picks for a locked waiting case, under the team's lock, counted
    in their load (agent_took), and the case's language flag (language_flag). None: nobody
    can take it now; the case is moved to the team to wait there."""
    languages = case.customer.languages
    agent = agent_pick(team=team, now=now, language=language_wanted(languages), agents=agents)
    flag = language_flag(languages, agent.languages if agent else None)
    if agent is None:
        if (case.team_id, case.needs_language) != (team.pk, flag):
            Case.objects.filter(pk=case.pk).update(team=team, needs_language=flag)
        return None
    agent_took(team, agent)
    return agent, flag


def _given(team: Team, agent: Agent, now: datetime, flag: str) -> dict[str, Any]:
    """What assigning a case to `agent` of `team` writes on it."""
    return {
        "team": team.pk,
        "agent": agent.pk,
        "status": CaseStatus.ASSIGNED,
        "assigned_at": now,
        "needs_language": flag,
    }


def _assign_locked(case: Case, team: Team, agents: list[Agent]) -> Agent | None:
    """Give a locked waiting case to the agent the team picks, under the team's lock."""
    now = timezone.now()
    if (picked := _pick_locked(case, team, agents, now)) is None:
        return None
    agent, flag = picked
    Case.objects.filter(pk=case.pk).update(**_given(team, agent, now, flag))
    case_event_record(case_id=case.pk, kind="assigned", agent=agent.name, team=team.name)
    return agent


def cases_assign_waiting(*, limit: int = 200) -> int:
    """Try again for every case still waiting for an agent, most urgent and oldest first."""
    ids = (
        Case.objects.filter(status=CaseStatus.NEW, agent__isnull=True)
        .order_by("priority", "opened_at", "pk")
        .values_list("pk", flat=True)
    )
    return sum(case_assign(case_id=pk) is not None for pk in list(ids[:limit]))


def _queue_assignment(case_ids: Sequence[int]) -> None:
    for pk in case_ids:
        task_queue("followups.tasks.assign_case", pk)


def team_waiting_assign(*, team_id: int) -> int | None:
    """A place was freed in the team: queue its next waiting case for assignment after commit.

    Returns the queued case's id (None: nobody waits). case_assign decides; if the place
    went to someone else meanwhile, the case keeps waiting for the sweeper.
    """
    next_id = waiting_cases(team_id=team_id).values_list("pk", flat=True).first()
    if next_id is not None:
        _queue_assignment([next_id])
    return next_id


def agent_set_away(*, agent_id: int, actor: User | None = None) -> int:
    """Mark the agent away and hand each of their open cases back to the queue, once.

    Returns how many cases were handed back; each is queued for assignment after commit.
    """
    with transaction.atomic():
        agent = Agent.objects.get(pk=agent_id)
        # The team lock keeps case_assign from picking this agent meanwhile.
        Team.objects.select_for_update().get(pk=agent.team_id)
        Agent.objects.filter(pk=agent.pk).update(is_available=False)
        held = list(
            Case.objects.select_for_update()
            .filter(agent_id=agent.pk, status__in=HELD_STATUSES)
            .order_by("priority", "opened_at", "pk")
            .values_list("pk", flat=True)
        )
        Case.objects.filter(pk__in=held).update(status=CaseStatus.NEW, agent=None, assigned_at=None)
        for pk in held:
            case_event_record(
                case_id=pk, kind="unassigned", actor=actor, agent=agent.name, reason="agent away"
            )
        _queue_assignment(held)
    return len(held)


def agent_set_back(*, agent_id: int) -> int:
    """Mark the agent available and queue the team's waiting cases (as many as they can take)."""
    with transaction.atomic():
        agent = Agent.objects.get(pk=agent_id)
        Agent.objects.filter(pk=agent.pk).update(is_available=True)
        # Most urgent and oldest first; the periodic sweeper picks up any the agent leaves.
        waiting = list(
            waiting_cases(team_id=agent.team_id).values_list("pk", flat=True)[: agent.capacity]
        )
        _queue_assignment(waiting)
    return len(waiting)
