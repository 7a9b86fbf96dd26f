"""The rollup tables stay equal to the raw rows they summarise, whatever happens to them."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from django.forms.models import model_to_dict
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from followups.models import (
    Case,
    CaseEvent,
    CaseStatus,
    ContactChannel,
    ContactOutcome,
    RoutingRule,
    Team,
)
from followups.routing import team_for_response
from followups.workflow import case_attempt_log
from nps import tasks
from nps.models import (
    CaseDaily,
    FunnelDaily,
    NpsDaily,
    ReasonDaily,
    attempt_bucket_field,
    bucket_field,
)
from nps.reporting.contract import Filters
from nps.reporting.grains import FULL, GRAINS, fields_of, grain_for
from nps.reporting.queries import closed_loop
from nps.reporting.rebuild import rollups_rebuild
from nps.reporting.refresh import rollups_refresh_day
from surveys.models import (
    Category,
    Interaction,
    Invitation,
    InvitationStatus,
    Purpose,
    ReasonCategory,
    Response,
    ResponseReason,
    SuppressReason,
)
from tests.factories import CustomerFactory, InteractionFactory

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai: days turn at 16:00 UTC
DIMS = ("touchpoint", "channel", "business_type", "region", "tier", "team_id", "agent", "unit_id")
ROLLUPS = (NpsDaily, ReasonDaily, FunnelDaily, CaseDaily)


def local_day(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(settings.NPS_REPORTING_TIME_ZONE)).date()


def interaction_create(
    *,
    at: datetime,
    region: str = "BJ",
    tier: str = "B",
    touchpoint: str = "hotline",
    channel: str = "app",
    business_type: str = "billing",
    staff_id: str = "E1",
) -> Interaction:
    return InteractionFactory(
        customer=CustomerFactory(region=region, tier=tier),
        touchpoint=touchpoint,
        channel=channel,
        business_type=business_type,
        staff_id=staff_id,
        occurred_at=at,
    )


def response_create(
    *,
    at: datetime,
    score: int,
    comment: str = "",
    reasons: tuple[str, ...] = (),
    purpose: str = Purpose.SURVEY,
    **dims: Any,
) -> Response:
    """An answered survey (interaction, invitation, response) stamped `at`, with reasons."""
    interaction = interaction_create(at=at, **dims)
    invitation = Invitation.objects.create(
        interaction=interaction,
        customer=interaction.customer,
        purpose=purpose,
        status=InvitationStatus.RESPONDED,
        sent_at=at,
        delivered_at=at,
        responded_at=at,
    )
    response = Response.objects.create(
        invitation=invitation,
        customer=interaction.customer,
        interaction=interaction,
        score=score,
        category=Category.for_score(score),
        comment=comment,
    )
    Response.objects.filter(pk=response.pk).update(created_at=at)  # auto_now_add otherwise
    for code in reasons:
        ResponseReason.objects.create(
            response=response, category=ReasonCategory.objects.get(code=code)
        )
    response.refresh_from_db()
    return response


def case_create(
    response: Response,
    *,
    team: Team | None = None,
    contact_after: int | None = None,
    attempt_after: int | None = None,
    sla_minutes: int = 120,
    **fields: Any,
) -> Case:
    """A case opened when the response arrived, first contacted (the customer reached)
    `contact_after` minutes later; its first attempt `attempt_after` minutes after opening
    (by default: the contact itself)."""
    opened = response.created_at
    attempt_after = contact_after if attempt_after is None else attempt_after
    case = Case.objects.create(
        response=response,
        customer=response.customer,
        priority="P2",
        team=team,
        sla_due_at=opened + timedelta(minutes=sla_minutes),
        first_contact_at=None
        if contact_after is None
        else opened + timedelta(minutes=contact_after),
        first_attempt_at=None
        if attempt_after is None
        else opened + timedelta(minutes=attempt_after),
        **fields,
    )
    Case.objects.filter(pk=case.pk).update(opened_at=opened)
    case.refresh_from_db()
    return case


def rollup_rows(model: Any, grain: int | None = FULL) -> dict[tuple[Any, ...], dict[str, Any]]:
    """A rollup table's rows of one grain (None: all, grain first) as {key: counts}."""
    found = {}
    rows = model.objects.all() if grain is None else model.objects.filter(grain=grain)
    for row in rows:
        values = model_to_dict(row, exclude=["id"])
        names = ("grain", "day", *DIMS, "reason") if grain is None else ("day", *DIMS, "reason")
        values.pop("grain", None) if grain is not None else None
        key = tuple(values.pop(name) for name in names if name in values)
        found[key] = values
    return found


def coarsened(full: dict[tuple[Any, ...], Any], grain: int) -> dict[tuple[Any, ...], Any]:
    """Rows of the finest grain summed into `grain`: dropped dimensions become "" (team 0)."""
    kept = set(fields_of(grain))
    found: dict[tuple[Any, ...], Counter[str]] = {}
    for key, counts in full.items():
        day, dims, rest = key[0], key[1 : 1 + len(DIMS)], key[1 + len(DIMS) :]
        projected = tuple(
            value if name in kept else (0 if name in ("team_id", "unit_id") else "")
            for name, value in zip(DIMS, dims, strict=True)
        )
        total = found.setdefault((day, *projected, *rest), Counter())
        total.update(counts if isinstance(counts, dict) else {"detractors": counts})
    return {key: dict(counts) for key, counts in found.items()}


Rows = dict[tuple[Any, ...], dict[str, int]]


def raw_nps() -> tuple[Rows, Rows]:
    """Survey responses grouped as the rollups should be, computed independently."""
    nps: dict[tuple[Any, ...], Counter[str]] = {}
    reasons: dict[tuple[Any, ...], dict[str, int]] = {}
    rows = Response.objects.select_related("customer", "interaction", "invitation")
    for r in rows.filter(invitation__purpose=Purpose.SURVEY):
        team = team_for_response(r)
        i, c = r.interaction, r.customer
        key = (local_day(r.created_at), i.touchpoint, i.channel, i.business_type, c.region)
        key += (c.tier, team.pk if team else 0, i.staff_id, i.unit_id or 0)
        nps.setdefault(key, Counter())[r.category] += 1
        for link in r.reason_links.all():  # every category: promoters' reasons are drivers
            row = reasons.setdefault(
                (*key, link.category_id), {"detractors": 0, "passives": 0, "promoters": 0}
            )
            row[f"{r.category}s"] += 1
    expected = {
        key: {"promoters": n["promoter"], "passives": n["passive"], "detractors": n["detractor"]}
        for key, n in nps.items()
    }
    return expected, reasons


@pytest.fixture(params=[True, False], ids=["default route", "no default route"])
def routing(db: Any, request: pytest.FixtureRequest) -> dict[str, Team]:
    """North covers BJ, a rule sends tier A to the VIP team, and National has no regions:
    as the default route it takes the rest; without, the rest has no team (unrouted)."""
    national = Team.objects.create(name="National", regions=[], is_default_route=request.param)
    teams = {
        "north": Team.objects.create(name="North", regions=["BJ"]),
        "fallback": national,
        "vip": Team.objects.create(name="VIP", regions=["none"]),
    }
    RoutingRule.objects.create(order=1, tier="A", team=teams["vip"])
    return teams


ADD = st.tuples(
    st.just("add"),
    st.integers(0, 10),  # score
    st.integers(0, 3 * 24 * 60 - 1),  # minutes after BASE: three local days and their edges
    st.sampled_from(["BJ", "SH", ""]),
    st.sampled_from(["A", "C"]),
    st.sampled_from(["hotline", "store_own"]),
    st.sampled_from(["E1", "E2"]),
    st.sampled_from([(), ("network",), ("billing", "waiting")]),
    st.sampled_from([Purpose.SURVEY, Purpose.SURVEY, Purpose.VERIFICATION]),
)
CORRECT = st.tuples(st.just("correct"), st.integers(0, 50), st.integers(0, 10))
DELETE = st.tuples(st.just("delete"), st.integers(0, 50))


@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=st.lists(st.one_of(ADD, ADD, CORRECT, DELETE), max_size=12))
def test_nps_and_reason_rollups_equal_the_raw_rows_after_inserts_corrections_and_deletions(
    routing: dict[str, Team], operations: list[tuple[Any, ...]]
) -> None:
    with transaction.atomic():  # each example starts clean: everything is rolled back
        live: list[Response] = []
        for operation in operations:
            kind, *args = operation
            if kind == "add":
                score, minutes, region, tier, touchpoint, staff, reasons, purpose = args
                response = response_create(
                    at=BASE + timedelta(minutes=minutes),
                    score=score,
                    region=region,
                    tier=tier,
                    touchpoint=touchpoint,
                    staff_id=staff,
                    reasons=reasons,
                    purpose=purpose,
                )
                live.append(response)
            elif live:
                response = live[args[0] % len(live)]
                if kind == "correct":
                    Response.objects.filter(pk=response.pk).update(
                        score=args[1], category=Category.for_score(args[1])
                    )
                else:
                    live.remove(response)
                    response.delete()
            else:
                continue
            rollups_refresh_day(day=local_day(response.created_at))

        expected_nps, expected_reasons = raw_nps()
        for grain in GRAINS:  # every grain, not only the finest, equals the raw rows
            assert rollup_rows(NpsDaily, grain) == coarsened(expected_nps, grain)
            found = rollup_rows(ReasonDaily, grain)
            assert found == coarsened(dict(expected_reasons), grain)
        transaction.set_rollback(True)


def test_a_response_counts_on_its_local_day_in_the_reporting_time_zone(db: Any) -> None:
    response_create(at=datetime(2026, 3, 1, 17, 0, tzinfo=UTC), score=10)  # 01:00 on 2 March

    rollups_refresh_day(day=date(2026, 3, 1))
    rollups_refresh_day(day=date(2026, 3, 2))

    days = NpsDaily.objects.filter(grain=FULL).values_list("day", "promoters")
    assert list(days) == [(date(2026, 3, 2), 1)]


def test_funnel_rollup_counts_each_stage_and_suppressions_by_reason(routing: Any) -> None:
    at = BASE
    for status, reason in [
        (InvitationStatus.SUPPRESSED, SuppressReason.FATIGUE),
        (InvitationStatus.SUPPRESSED, SuppressReason.FATIGUE),
        (InvitationStatus.SUPPRESSED, SuppressReason.OPTED_OUT),
        (InvitationStatus.SENT, ""),
        (InvitationStatus.DELIVERED, ""),
    ]:
        interaction = interaction_create(at=at)
        sent = at if status != InvitationStatus.SUPPRESSED else None
        delivered = at if status == InvitationStatus.DELIVERED else None
        Invitation.objects.create(
            interaction=interaction,
            customer=interaction.customer,
            status=status,
            suppressed_reason=reason,
            sent_at=sent,
            delivered_at=delivered,
        )
    interaction_create(at=at)  # no invitation at all
    answered = response_create(at=at, score=3)
    # A verification survey hangs off the same interaction: it must not count twice.
    Invitation.objects.create(
        interaction=answered.interaction,
        customer=answered.customer,
        purpose=Purpose.VERIFICATION,
        status=InvitationStatus.SENT,
        sent_at=at,
    )

    rollups_refresh_day(day=local_day(at))

    (row,) = FunnelDaily.objects.filter(grain=FULL)
    assert (row.interactions, row.sent, row.delivered, row.responded) == (7, 3, 2, 1)
    assert (row.suppressed_fatigue, row.suppressed_opted_out, row.suppressed_tier_cap) == (2, 1, 0)
    assert row.team_id == routing["north"].pk


def test_funnel_has_a_column_for_every_suppress_reason() -> None:
    columns = {f.name for f in FunnelDaily._meta.get_fields()}
    assert {f"suppressed_{code}" for code in SuppressReason.values} <= columns


def test_case_rollup_counts_outcomes_and_the_time_to_first_contact(routing: Any) -> None:
    team = routing["north"]
    detractors = [response_create(at=BASE, score=s) for s in (0, 1, 2, 3, 4, 5)]
    case_create(detractors[0], team=team, contact_after=10)  # in SLA, 0-15 min
    case_create(detractors[1], team=team, contact_after=20, resolved_at=BASE, status="resolved")
    case_create(detractors[2], team=team, contact_after=200, status=CaseStatus.UNREACHABLE)
    case_create(
        detractors[3],
        team=team,
        contact_after=3000,  # past SLA, open last bucket
        status=CaseStatus.CLOSED,
        resolved_at=BASE,
        verification_score=9,
        recovered=True,
    )
    case_create(detractors[4], team=None, status=CaseStatus.CLOSED, closed_by_correction=True)
    case_create(detractors[5], team=team, verification_score=3, recovered=False)

    rollups_refresh_day(day=local_day(BASE))

    rows = {row.team_id: row for row in CaseDaily.objects.filter(grain=FULL)}
    assert set(rows) == {team.pk, 0}
    row = rows[team.pk]
    assert (row.opened, row.first_contacted, row.first_contact_in_sla) == (5, 4, 2)
    assert (row.resolved, row.unreachable, row.verified, row.recovered) == (2, 1, 2, 1)
    histogram = {lower: getattr(row, bucket_field(lower)) for lower in (0, 15, 120, 2880)}
    assert histogram == {0: 1, 15: 1, 120: 1, 2880: 1}
    assert (rows[0].opened, rows[0].unreachable) == (1, 0)  # closed by a correction


def test_case_rollup_counts_first_attempts_apart_from_reaching_the_customer(
    routing: Any,
) -> None:
    team = routing["north"]
    detractors = [response_create(at=BASE, score=s) for s in (0, 1, 2, 3)]
    case_create(detractors[0], team=team, attempt_after=5, contact_after=300)  # reached late
    case_create(detractors[1], team=team, attempt_after=20)  # tried, never reached
    case_create(detractors[2], team=team, contact_after=100)  # reached at the first try
    case_create(detractors[3], team=team)  # nobody tried yet

    rollups_refresh_day(day=local_day(BASE))

    (row,) = CaseDaily.objects.filter(grain=FULL)
    assert (row.opened, row.first_attempted, row.first_contacted) == (4, 3, 2)
    assert row.first_contact_in_sla == 1  # 100 min; a failed call at 20 min does not count
    attempts = {lower: getattr(row, attempt_bucket_field(lower)) for lower in (0, 15, 60)}
    reached = {lower: getattr(row, bucket_field(lower)) for lower in (60, 240)}
    assert (attempts, reached) == ({0: 1, 15: 1, 60: 1}, {60: 1, 240: 1})
    loop = closed_loop(Filters(start=local_day(BASE), end=local_day(BASE)))
    assert (loop.first_attempted, loop.first_contacted) == (3, 2)
    assert loop.median_minutes_to_first_attempt < loop.median_minutes_to_first_contact


def test_the_closed_loop_counts_open_cases_waiting_unrouted(routing: Any) -> None:
    detractors = [response_create(at=BASE, score=s) for s in (0, 1, 2, 3)]
    case_create(detractors[0], team=None)  # no team takes it: unrouted
    case_create(detractors[1], team=None, status=CaseStatus.CLOSED, closed_by_correction=True)
    case_create(detractors[2], team=routing["north"])  # waiting for an agent of North
    case_create(detractors[3], team=None, status=CaseStatus.NEW)
    day = local_day(BASE)

    assert closed_loop(Filters(start=day, end=day)).unrouted_now == 2
    north_only = Filters(start=day, end=day, team_scope=(routing["north"].pk,))
    assert closed_loop(north_only).unrouted_now == 0


def test_the_team_map_follows_the_default_route_choice(routing: Any) -> None:
    response_create(at=BASE, score=10, region="XZ")
    rollups_refresh_day(day=local_day(BASE))
    (row,) = NpsDaily.objects.filter(grain=FULL)
    national = routing["fallback"]
    assert row.team_id == (national.pk if national.is_default_route else 0)


def test_refreshing_a_day_again_replaces_its_rows(db: Any) -> None:
    response = response_create(at=BASE, score=10)
    rollups_refresh_day(day=local_day(BASE))
    Response.objects.filter(pk=response.pk).update(score=2, category=Category.DETRACTOR)

    rollups_refresh_day(day=local_day(BASE))

    counts = NpsDaily.objects.filter(grain=FULL).values_list("promoters", "detractors")
    assert list(counts) == [(0, 1)]


def snapshot() -> dict[str, Any]:
    return {model.__name__: rollup_rows(model, grain=None) for model in ROLLUPS}


def test_rebuild_command_reproduces_identical_rollups_after_the_tables_are_emptied(
    routing: Any,
) -> None:
    for day, score in enumerate([10, 8, 3, 0, 9]):
        response = response_create(
            at=BASE + timedelta(days=day), score=score, reasons=("network",), comment="slow"
        )
        if response.category == Category.DETRACTOR:
            case_create(response, team=routing["north"], contact_after=30 * day)
    rollups_rebuild()
    before = snapshot()
    for model in ROLLUPS:
        model.objects.all().delete()

    out = StringIO()
    call_command("rollups_rebuild", stdout=out)

    assert snapshot() == before
    assert all(before.values())
    assert "5 day(s) rebuilt." in out.getvalue()


@pytest.mark.django_db(transaction=True)  # the rebuild's threads see only committed rows
def test_a_rebuild_in_parallel_jobs_gives_the_same_rows_as_one_at_a_time() -> None:
    """On PostgreSQL --jobs 3 recomputes days on three connections at once; a day lost
    or done twice (a bad split of the days, a shared connection) would differ here."""
    for day in range(7):
        for score in (10, 7, 2 + day % 3):
            response = response_create(at=BASE + timedelta(days=day, hours=score), score=score)
            if response.category == Category.DETRACTOR:
                case_create(response, contact_after=20 * day)
    rollups_rebuild()
    before = snapshot()
    for model in ROLLUPS:
        model.objects.all().delete()

    out = StringIO()
    call_command("rollups_rebuild", "--jobs", "3", stdout=out)

    assert snapshot() == before
    days = {key[1] for key in before["NpsDaily"]}  # keys are (grain, day, ...)
    assert len(days) >= 7
    assert out.getvalue().count(" rebuilt\n") == len(days)


def test_rebuild_refuses_zero_jobs(db: Any) -> None:
    with pytest.raises(CommandError, match="--jobs"):
        call_command("rollups_rebuild", "--jobs", "0", stdout=StringIO())


def test_rebuild_command_limits_itself_to_the_given_days(db: Any) -> None:
    for day in range(3):
        response_create(at=BASE + timedelta(days=day), score=10)

    call_command("rollups_rebuild", "--from", "2026-03-02", "--to", "2026-03-02", stdout=StringIO())

    assert set(NpsDaily.objects.values_list("day", flat=True)) == {date(2026, 3, 2)}


def test_rebuild_clears_the_rows_of_days_whose_data_is_gone(db: Any) -> None:
    response = response_create(at=BASE, score=10)
    rollups_rebuild()
    response.delete()

    rollups_rebuild()

    assert not NpsDaily.objects.exists()


def test_a_rebuild_without_both_bounds_recomputes_only_the_days_with_data(db: Any) -> None:
    """A sparse history (a pilot's months, a test's few days) costs its days, not the
    span: the empty days between come out empty either way, and a day whose only rows are
    stale rollups is still cleared."""
    days = [BASE, BASE + timedelta(days=200), BASE + timedelta(days=400)]
    kept = [response_create(at=at, score=9) for at in days]
    stale = response_create(at=BASE + timedelta(days=300), score=2)
    rollups_rebuild()
    for row in (stale, stale.invitation, stale.interaction):  # day 300: only rollups now
        row.delete()
    seen: list[date] = []

    assert rollups_rebuild(progress=seen.append) == 4
    assert seen == [local_day(r.created_at) for r in kept[:2]] + [
        local_day(stale.created_at),
        local_day(kept[2].created_at),
    ]
    for model in (NpsDaily, FunnelDaily):
        assert set(model.objects.values_list("day", flat=True)) == {
            local_day(r.created_at) for r in kept
        }
    # One bound given: the days with data on its side; both given: every day between.
    assert rollups_rebuild(start=local_day(kept[1].created_at)) == 2
    assert rollups_rebuild(end=local_day(kept[1].created_at)) == 2
    assert rollups_rebuild(start=local_day(days[0]), end=local_day(days[0]) + timedelta(9)) == 10


def test_periodic_task_refreshes_today(db: Any) -> None:
    response_create(at=datetime.now(UTC), score=9)

    assert tasks.refresh_rollups() == 1  # today; no case changed

    assert NpsDaily.objects.get(grain=FULL).promoters == 1


def test_periodic_task_also_refreshes_the_older_day_of_a_case_worked_now(db: Any) -> None:
    """A case opened weeks ago and contacted now changes that old day's closed loop: the
    next refresh recomputes that day too, not only the recent days (a refresh of recent
    days alone would leave it stale until the nightly run)."""
    weeks_ago = datetime.now(UTC) - timedelta(days=20)
    response = response_create(at=weeks_ago, score=2)
    case = case_create(response, status=CaseStatus.ASSIGNED)
    rollups_rebuild()
    assert CaseDaily.objects.get(grain=FULL).first_contacted == 0

    case_attempt_log(
        case_id=case.pk, actor=None, channel=ContactChannel.PHONE, outcome=ContactOutcome.REACHED
    )
    refreshed = tasks.refresh_rollups()

    assert refreshed == 2  # today and the case's day
    assert CaseDaily.objects.get(grain=FULL).first_contacted == 1


def test_case_history_older_than_the_lookback_does_not_cost_a_refresh(db: Any) -> None:
    weeks_ago = datetime.now(UTC) - timedelta(days=20)
    case = case_create(response_create(at=weeks_ago, score=2), status=CaseStatus.ASSIGNED)
    case_attempt_log(
        case_id=case.pk, actor=None, channel=ContactChannel.PHONE, outcome=ContactOutcome.REACHED
    )
    lookback = settings.NPS_ROLLUP_CHANGE_LOOKBACK_SECONDS
    CaseEvent.objects.update(at=datetime.now(UTC) - timedelta(seconds=lookback + 5))

    assert tasks.refresh_rollups() == 1
    assert not CaseDaily.objects.exists()


def test_the_ten_minute_task_refreshes_the_recent_days(db: Any, settings: Any) -> None:
    """Yesterday's funnel changes after midnight (a late receipt): the minute task only
    recomputes today, this one the last NPS_ROLLUP_REFRESH_DAYS days."""
    settings.NPS_ROLLUP_REFRESH_DAYS = 2
    yesterday = datetime.now(UTC) - timedelta(days=1)
    response_create(at=yesterday, score=10)

    assert tasks.refresh_rollups() == 1
    assert not NpsDaily.objects.filter(day=local_day(yesterday)).exists()
    assert tasks.refresh_recent_rollups() == 2
    assert NpsDaily.objects.get(grain=FULL, day=local_day(yesterday)).promoters == 1


def test_the_nightly_task_recomputes_the_last_thirty_days_and_no_older(db: Any) -> None:
    """A change no case history records (a score corrected in the database) shows after
    the nightly run on a day within the month; a day before it is left as it was."""
    now = datetime.now(UTC)
    recent = response_create(at=now - timedelta(days=29), score=10)
    old = response_create(at=now - timedelta(days=31), score=10)
    rollups_rebuild()
    Response.objects.filter(pk__in=[recent.pk, old.pk]).update(score=1, category=Category.DETRACTOR)

    assert tasks.rebuild_recent_rollups() == 30

    detractors = dict(NpsDaily.objects.filter(grain=FULL).values_list("day", "detractors"))
    assert detractors == {local_day(recent.created_at): 1, local_day(old.created_at): 0}


@pytest.mark.django_db
def test_case_rollup_sums_the_minutes_to_resolve_and_their_squares() -> None:
    at = BASE - timedelta(days=2)
    for minutes in (30, 90):
        case = case_create(response_create(at=at, score=2), contact_after=5)
        Case.objects.filter(pk=case.pk).update(resolved_at=at + timedelta(minutes=minutes))
    case_create(response_create(at=at, score=3), contact_after=5)  # open: not counted
    rollups_refresh_day(day=local_day(at))
    row = CaseDaily.objects.get(grain=grain_for(frozenset()), day=local_day(at))
    assert row.resolved == 2
    assert row.resolution_minutes == 30 + 90
    assert row.resolution_minutes_sq == 30 * 30 + 90 * 90
