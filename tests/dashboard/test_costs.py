"""The dashboard's SMS cost: per answer and per recovered detractor, for the filters and the
period on screen, read from the rollups (nps.reporting.queries.send_costs); "No price set"
when no gateway had a price. Every expected figure is counted by hand below."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from nps.dashboard import figures
from nps.models import SendDaily
from nps.reporting.contract import Filters
from nps.reporting.queries import send_costs
from nps.reporting.rebuild import rollups_rebuild, rollups_refresh_days
from surveys.models import (
    GatewayPrice,
    Invitation,
    InvitationStatus,
    OutboundKind,
    OutboundMessage,
    Response,
)
from tests.dashboard.builders import DAY, PERIOD, URL, client_for
from tests.followups.personas import Personas, personas_make
from tests.reporting.test_rollups import case_create, interaction_create, response_create

pytestmark = pytest.mark.django_db
AT = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 on DAY in Shanghai
WHOLE_DAY = Filters(DAY, DAY)
BEIJING = Filters(DAY, DAY, region="BJ")


def charged(invitation: Invitation, segments: int, cost: str | None) -> None:
    """The segments and cost its send recorded (surveys.sendcost), as raw rows."""
    Invitation.objects.filter(pk=invitation.pk).update(
        gateway="sim", segments=segments, cost=None if cost is None else Decimal(cost)
    )


def answered(score: int, segments: int, cost: str | None, **dims: Any) -> Response:
    response = response_create(at=AT, score=score, **dims)
    charged(response.invitation, segments, cost)
    return response


def unanswered(segments: int, cost: str | None, *, at: datetime = AT, **dims: Any) -> None:
    interaction = interaction_create(at=at, **dims)
    invitation = Invitation.objects.create(
        interaction=interaction,
        customer=interaction.customer,
        status=InvitationStatus.SENT,
        sent_at=at,
    )
    charged(invitation, segments, cost)


def sends_make() -> None:
    """Beijing: five surveys (one sent without a price), three answers, a "why?" message,
    two detractor cases of which one recovered. Shanghai: two surveys, one answer."""
    GatewayPrice.objects.create(gateway="sim", price_per_segment=Decimal("0.0500"), currency="CNY")
    detractor = answered(3, 1, "0.0500", region="BJ")
    answered(10, 2, "0.1000", region="BJ", channel="web")
    other = answered(0, 1, "0.0500", region="BJ", staff_id="E2")
    unanswered(1, "0.0500", region="BJ")
    unanswered(1, None, region="BJ")  # a gateway without a price: counted, not costed
    OutboundMessage.objects.create(
        customer=detractor.customer,
        invitation=detractor.invitation,
        kind=OutboundKind.FOLLOWUP_QUESTION,
        language="zh-hans",
        text="为什么？",
        status="sent",
        sent_at=AT,
        gateway="sim",
        segments=2,
        cost=Decimal("0.1000"),
    )
    case_create(detractor, recovered=True, verification_score=9)
    case_create(other, recovered=False, verification_score=4)
    answered(9, 1, "0.0500", region="SH", tier="A")
    unanswered(1, "0.0500", region="SH", tier="A")
    # The day before: outside the period, whatever it cost.
    unanswered(5, "0.2500", at=AT - timedelta(days=1), region="BJ")


@pytest.fixture
def sends(db: Any) -> None:
    sends_make()
    rollups_rebuild()


def test_cost_per_answer_and_per_recovered_detractor_follow_the_filters(sends: None) -> None:
    beijing = send_costs(BEIJING)
    # 0.05 + 0.10 + 0.05 + 0.05 (surveys) + 0.10 (the "why?") = 0.35 for 6 SMS, 1 unpriced.
    assert (beijing.sms, beijing.unpriced, beijing.segments) == (6, 1, 8)
    assert beijing.cost == {"CNY": Decimal("0.35")}
    assert (beijing.answers, beijing.recovered) == (3, 1)
    everywhere = send_costs(WHOLE_DAY)
    assert everywhere.cost == {"CNY": Decimal("0.45")}
    assert (everywhere.sms, everywhere.answers, everywhere.recovered) == (8, 4, 1)
    rows = {(r.key, r.currency): r.value for r in figures.costs(BEIJING)}
    assert rows[("cost_per_answer", "CNY")] == Decimal("0.35") / 3
    assert rows[("cost_per_recovered", "CNY")] == Decimal("0.35")
    assert rows[("sms_unpriced", "")] == 1


def test_a_filter_only_the_finest_grain_holds_gives_the_hand_counted_cost(sends: None) -> None:
    # Region, channel, touchpoint and the agent together: only the finest grain keeps them.
    narrow = Filters(DAY, DAY, region="BJ", channel="app", touchpoint="hotline", agent="E2")
    found = send_costs(narrow)
    assert (found.sms, found.cost, found.answers, found.recovered) == (
        1,
        {"CNY": Decimal("0.05")},
        1,
        0,
    )


def test_without_any_price_the_dashboard_says_no_price_set(db: Any) -> None:
    unanswered(1, None, region="BJ")
    answered(9, 1, None, region="BJ")
    rollups_rebuild()
    found = send_costs(WHOLE_DAY)
    assert (found.sms, found.unpriced, found.cost, found.answers) == (2, 2, {}, 1)
    shown = {r.key: r for r in figures.costs(WHOLE_DAY)}
    for key in ("cost", "cost_per_answer", "cost_per_recovered"):
        assert (shown[key].value, shown[key].text) == (None, "No price set")


def test_a_period_without_sms_says_so_rather_than_no_price(db: Any) -> None:
    shown = {r.key: r.text for r in figures.costs(WHOLE_DAY)}
    assert shown["cost"] == shown["cost_per_answer"] == "No SMS sent"


def test_a_rebuild_gives_the_figures_the_refresh_gave(sends: None) -> None:
    refreshed = send_costs(BEIJING), send_costs(WHOLE_DAY)
    SendDaily.objects.all().delete()
    assert send_costs(WHOLE_DAY).sms == 0
    rollups_rebuild(start=DAY - timedelta(days=1), end=DAY)
    assert (send_costs(BEIJING), send_costs(WHOLE_DAY)) == refreshed
    rollups_refresh_days(days=[DAY])  # refreshing a day again changes nothing
    assert (send_costs(BEIJING), send_costs(WHOLE_DAY)) == refreshed


def supervisor_page(personas: Personas, **params: str) -> str:
    answer = client_for(personas.supervisor).get(URL, {**PERIOD, **params})
    assert answer.status_code == 200
    return answer.content.decode()


def test_the_page_shows_the_cost_per_answer_in_the_prices_currency(db: Any) -> None:
    personas = personas_make()
    sends_make()
    rollups_rebuild()
    html = supervisor_page(personas, region="BJ")
    assert 'data-figure="cost_per_answer" data-currency="CNY">0.12 CNY<' in html  # 0.35 / 3
    assert 'data-figure="cost_per_recovered" data-currency="CNY">0.35 CNY<' in html
    csv = client_for(personas.supervisor).get(URL, {**PERIOD, "region": "BJ", "export": "costs"})
    assert "cost_per_answer,Cost per answer,0.1167,CNY" in (csv.content.decode())


def test_the_page_says_no_price_set_when_no_gateway_has_one(db: Any) -> None:
    personas = personas_make()
    answered(9, 1, None, region="BJ")
    rollups_rebuild()
    html = supervisor_page(personas)
    assert 'data-figure="cost_per_answer">No price set<' in html
