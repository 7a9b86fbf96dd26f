"""The supervisor dashboard in a real browser: log in, filter, and read the figures shown.

The figures on the page must equal those computed here from the raw rows, and the page
is photographed at desktop and phone widths (also copied to docs/screenshots/).
"""

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from followups.models import Case, Team
from followups.permissions import roles_ensure
from followups.roles import SUPERVISORS
from surveys.models import Category, Invitation, InvitationStatus, Response
from tests.factories import CustomerFactory, InteractionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct horse battery staple"
# (region, tier, touchpoint, score) for each response: two regions, different NPS.
SCORES = {
    "BJ": [10, 10, 9, 9, 9, 9, 8, 8, 7, 6, 5, 3, 10, 9, 9, 8, 10, 2, 9, 10],
    "SH": [10, 9, 8, 7, 7, 6, 6, 5, 4, 3, 2, 9, 10, 0, 6, 8, 9, 1],
}
TOUCHPOINTS = ["hotline", "store_own", "online"]


def responses_create() -> None:
    """A few dozen answered surveys over the last days, a case for every detractor."""
    now = timezone.now()
    team = Team.objects.create(name="North", regions=["BJ", "SH"])
    for region, scores in SCORES.items():
        for i, score in enumerate(scores):
            customer = CustomerFactory(region=region, tier="ABC"[i % 3])
            interaction = InteractionFactory(
                customer=customer,
                touchpoint=TOUCHPOINTS[i % 3],
                channel="app",
                business_type="billing",
                staff_id=f"E{100 + i % 4}",
                occurred_at=now - timedelta(days=1 + i % 4, minutes=30),
            )
            invitation = Invitation.objects.create(
                interaction=interaction,
                customer=customer,
                status=InvitationStatus.RESPONDED,
                sent_at=interaction.occurred_at + timedelta(minutes=1),
                delivered_at=interaction.occurred_at + timedelta(minutes=2),
                responded_at=interaction.occurred_at + timedelta(minutes=5),
            )
            response = Response.objects.create(
                invitation=invitation,
                customer=customer,
                interaction=interaction,
                score=score,
                category=Category.for_score(score),
                comment="信号太差" if score <= 6 else "",
            )
            if response.category == Category.DETRACTOR:
                Case.objects.create(
                    response=response,
                    customer=customer,
                    priority="P2",
                    team=team,
                    sla_due_at=now + timedelta(hours=8),
                )


def supervisor_create() -> User:
    roles_ensure()
    user = User.objects.create_user("supervisor", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=SUPERVISORS))
    return user


def figures_from_rows(region: str) -> dict[str, int]:
    """Counts and NPS straight from the response rows, without the rollups."""
    rows = Response.objects.filter(customer__region=region)
    counts = {c: rows.filter(category=c).count() for c in Category.values}
    n = sum(counts.values())
    nps = round(100 * (counts["promoter"] - counts["detractor"]) / n)
    return {"responses": n, "nps": nps, **counts}


def figures_on_page(page: Any) -> dict[str, int]:
    def number(name: str) -> int:
        text = page.locator(f'[data-figure="{name}"]').first.get_attribute("data-value")
        return round(float(text or "nan"))

    names = ("responses", "nps", "promoter", "passive", "detractor")
    return {name: number(name) for name in names}


def test_supervisor_filters_by_region_and_sees_the_database_figures(
    chromium: Any, live_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Playwright's sync API keeps an event loop in this thread; the ORM calls are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from nps.reporting.rollups import rollups_rebuild

    supervisor_create()
    responses_create()
    rollups_rebuild()
    expected = figures_from_rows("SH")

    page = chromium.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/admin/login/?next=/dashboard/")
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/dashboard/**")
    page.select_option('select[name="region"]', "SH")
    page.locator('form [type="submit"]').first.click()
    page.wait_for_url("**region=SH**")

    assert figures_on_page(page) == expected

    shots = tmp_path / "screenshots"
    shots.mkdir()
    page.screenshot(path=shots / "dashboard-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.screenshot(path=shots / "dashboard-phone.png", full_page=True)
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for shot in shots.iterdir():
        shutil.copy(shot, DOCS_SCREENSHOTS / shot.name)
