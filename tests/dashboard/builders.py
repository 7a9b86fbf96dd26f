"""Builders for the dashboard tests: two teams' answered surveys on known days.

North (BJ, led by Lena) has exactly the minimum sample (30 answers) on the day under
test, South (SH, led by Leo) has 10. Every expected figure is counted here from the
`Row`s that were created, never read back from the rollups the page shows.
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any

from django.http import HttpResponse
from django.test import Client

from followups.models import Case
from nps.reporting.rebuild import rollups_rebuild
from surveys.models import Category, Invitation, InvitationStatus, SuppressReason
from tests.factories import CustomerFactory, InteractionFactory
from tests.followups.personas import Personas, personas_make
from tests.reporting.test_rollups import case_create, response_create

DAY = date(2026, 3, 2)
AT = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 on 2 March in Shanghai
PERIOD = {"start": "2026-03-02", "end": "2026-03-02"}  # the day under test
URL = "/dashboard/"
NORTH_SCORES = [10] * 18 + [8] * 6 + [3] * 6  # 30 answers: NPS (18 - 6) / 30 = 40
SOUTH_SCORES = [10, 10, 7, 7, 0, 1, 2, 3, 4, 5]  # 10 answers: NPS (2 - 6) / 10 = -40


@dataclass(frozen=True)
class Row:
    team: str  # "North" or "South"
    region: str
    tier: str
    touchpoint: str
    channel: str
    business_type: str
    agent: str
    score: int
    comment: str

    @property
    def category(self) -> str:
        return Category.for_score(self.score)


@dataclass
class Data:
    personas: Personas
    rows: list[Row]  # the day under test
    previous: list[Row]  # the day before (the comparison period)
    cases: list[Case]

    def team_id(self, name: str) -> int:
        return {"North": self.personas.team.pk, "South": self.personas.other_team.pk}[name]

    def select(self, rows: list[Row] | None = None, **where: str) -> list[Row]:
        rows = self.rows if rows is None else rows
        return [r for r in rows if all(getattr(r, k) == v for k, v in where.items())]

    def counts(self, rows: list[Row]) -> dict[str, int]:
        found = {c: sum(r.category == c for r in rows) for c in Category.values}
        return {"responses": len(rows), **found}


def _rows(team: str, scores: list[int], *, previous: bool = False) -> list[Row]:
    south = team == "South"
    return [
        Row(
            team=team,
            region="SH" if south else "BJ",
            tier="A" if south else "B",
            touchpoint="hotline" if south or i % 2 == 0 else "store_own",
            channel="store" if south else ("app" if i < 20 else "web"),
            business_type="broadband" if south else "billing",
            agent="S9" if south else ("E1" if i % 3 else "E2"),
            score=score,
            comment=""
            if previous or score > 6
            else (f"南区投诉{i}号" if south else f"北区投诉{i}号"),
        )
        for i, score in enumerate(scores)
    ]


def data_make() -> Data:
    """Both teams' answers, cases and one unsurveyed interaction; the rollups rebuilt."""
    personas = personas_make()
    teams = {"North": personas.team, "South": personas.other_team}
    rows = _rows("North", NORTH_SCORES) + _rows("South", SOUTH_SCORES)
    previous = _rows("North", [10] * 30, previous=True)  # NPS 100 the day before
    cases = []
    for row, at in [(r, AT) for r in rows] + [(r, AT - timedelta(days=1)) for r in previous]:
        response = response_create(
            at=at,
            score=row.score,
            comment=row.comment,
            reasons=(("billing",) if row.team == "South" else ("network",)) if row.comment else (),
            region=row.region,
            tier=row.tier,
            touchpoint=row.touchpoint,
            channel=row.channel,
            business_type=row.business_type,
            staff_id=row.agent,
        )
        if row.category == Category.DETRACTOR:
            # North's detractors were called within 10 minutes; South's not yet.
            contact_after = 10 if row.team == "North" else None
            cases.append(case_create(response, team=teams[row.team], contact_after=contact_after))
    # One North interaction not surveyed (fatigue): the funnel counts it, the NPS does not.
    interaction = InteractionFactory(
        customer=CustomerFactory(region="BJ", tier="B"), occurred_at=AT, staff_id="E1"
    )
    Invitation.objects.create(
        interaction=interaction,
        customer=interaction.customer,
        status=InvitationStatus.SUPPRESSED,
        suppressed_reason=SuppressReason.FATIGUE,
    )
    rollups_rebuild()
    return Data(personas=personas, rows=rows, previous=previous, cases=cases)


def client_for(user: Any, **headers: str) -> Client:
    client = Client(headers=headers)
    client.force_login(user)
    return client


def page(client: Client, **params: Any) -> str:
    answer = client.get(URL, {**PERIOD, **params})
    assert answer.status_code == 200
    return answer.content.decode()


def figure(html: str, name: str) -> str:
    """The data-value of the first element marked data-figure=name."""
    found = re.search(rf'data-figure="{name}" data-value="([^"]*)"', html)
    assert found, f"no figure {name!r} on the page"
    return found.group(1)


def figures(html: str) -> dict[str, int]:
    """The headline's n and its promoter, passive and detractor counts."""
    names = ("responses", *Category.values)
    return {name: int(figure(html, name)) for name in names}


def section(html: str, ident: str) -> str:
    start = html.index(f'id="{ident}"')
    return html[start : html.index("</section>", start)]


def links(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*)"', html)]


def csv_rows(answer: HttpResponse) -> list[list[str]]:
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"].startswith('attachment; filename="nps-')
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
