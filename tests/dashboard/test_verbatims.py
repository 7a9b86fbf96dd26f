"""The verbatims come from the narrow table kept with the rollups (DetractorComment): the
same latest comments as the raw responses give, kept fresh with the rollups, and nothing
of an erased customer's comment in it."""

from datetime import timedelta

import pytest
from django.core import serializers
from django.core.management import call_command

from nps.models import DetractorComment
from nps.reporting import queries
from nps.reporting.contract import Filters
from nps.reporting.refresh import rollups_refresh_day
from surveys.models import Response
from surveys.retention import ANONYMISED
from tests.dashboard.builders import AT, DAY, Data, client_for, page, section
from tests.reporting.test_rollups import response_create

FILTER_SETS = {
    "all": {},
    "region": {"region": "BJ"},
    "tier": {"tier": "A"},
    "touchpoint and channel": {"touchpoint": "hotline", "channel": "app"},
    "agent": {"agent": "E2"},
    "business type matching nothing": {"business_type": "roaming"},
}


def raw_latest(f: Filters, limit: int, reason: str = "") -> list[int]:
    """The latest detractor comments read from the raw responses, newest first."""
    found = queries.detractor_answers(f).exclude(comment="")
    if reason:
        found = found.filter(reasons__code=reason)
    return list(found.order_by("-created_at", "-pk").values_list("pk", flat=True)[:limit])


def narrow_latest(f: Filters, limit: int, reason: str = "") -> list[int]:
    return [r.pk for r in queries.verbatims(f, reason=reason, limit=limit)]


def test_the_narrow_table_gives_the_raw_rows_latest_comments(data: Data) -> None:
    for name, where in FILTER_SETS.items():
        f = Filters(DAY, DAY, **where)
        expected = [r for r in data.select(**where) if r.comment]
        for limit in (3, 20):
            found = narrow_latest(f, limit)

            assert found == raw_latest(f, limit), name
            assert len(found) == min(limit, len(expected)), name


def test_a_reason_picks_the_same_comments_from_the_narrow_table(data: Data) -> None:
    f = Filters(DAY, DAY)
    for reason, team in (("network", "North"), ("billing", "South"), ("waiting", None)):
        found = narrow_latest(f, 20, reason)

        assert found == raw_latest(f, 20, reason)
        assert len(found) == len([r for r in data.rows if r.comment and r.team == team])


def test_a_team_and_a_team_scope_pick_the_same_comments(data: Data) -> None:
    north, south = data.team_id("North"), data.team_id("South")
    for f in (
        Filters(DAY, DAY, team_id=south),
        Filters(DAY, DAY, team_scope=(north,)),
        Filters(DAY, DAY, team_scope=(north,), team_id=south),
    ):
        assert narrow_latest(f, 20) == raw_latest(f, 20)
    assert len(narrow_latest(Filters(DAY, DAY, team_id=south), 20)) == 6  # scores 0 to 5
    assert narrow_latest(Filters(DAY, DAY, team_scope=(north,), team_id=south), 20) == []


def test_the_comments_of_other_days_are_left_out(data: Data) -> None:
    assert narrow_latest(Filters(DAY - timedelta(days=1), DAY - timedelta(days=1)), 20) == []
    assert len(narrow_latest(Filters(DAY, DAY), 50)) == 6 + 6  # North's 3s, South's 0 to 5
    # One row per detractor comment, none for the other answers.
    assert DetractorComment.objects.count() == 12


def test_a_corrected_score_leaves_the_verbatims_with_the_refresh(data: Data) -> None:
    f = Filters(DAY, DAY)
    first = narrow_latest(f, 1)[0]
    Response.objects.filter(pk=first).update(score=9, category="promoter")

    rollups_refresh_day(day=DAY)

    assert first not in narrow_latest(f, 50)
    assert narrow_latest(f, 50) == raw_latest(f, 50)


@pytest.mark.django_db
def test_an_erased_customers_comment_leaves_no_trace_in_the_narrow_table() -> None:
    secret = "王先生说信号太差 13800138009"
    response = response_create(at=AT, score=2, comment=secret, reasons=("network",))
    customer = response.customer
    customer.phone = "+8613800138009"
    customer.save(update_fields=["phone"])
    rollups_refresh_day(day=DAY)
    assert narrow_latest(Filters(DAY, DAY), 20) == [response.pk]

    call_command("customer_erase", phone=customer.phone)

    stored = serializers.serialize("json", DetractorComment.objects.all(), ensure_ascii=False)
    assert "13800138009" not in stored
    assert "信号" not in stored
    shown = queries.verbatims(Filters(DAY, DAY))
    assert [r.comment for r in shown] == [ANONYMISED]  # the answer still counts, its text gone
    rollups_refresh_day(day=DAY)
    stored = serializers.serialize("json", DetractorComment.objects.all(), ensure_ascii=False)
    assert "信号" not in stored


def test_the_page_shows_the_narrow_tables_comments(data: Data) -> None:
    html = section(page(client_for(data.personas.supervisor)), "verbatims")
    shown = [r.comment for r in data.rows if r.comment]
    assert len(shown) == 12
    assert all(comment in html for comment in shown)
