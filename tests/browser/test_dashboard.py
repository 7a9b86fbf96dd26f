"""The supervisor dashboard in a real browser: log in, filter, and read the figures shown.

The figures on the page must equal those computed here from the raw rows, and the page
is photographed at desktop and phone widths (also copied to docs/screenshots/).
"""

import re
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
from surveys.reasons import response_categorise
from tests.factories import CustomerFactory, InteractionFactory
from tests.surveys.test_reasons import seed_taxonomy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct horse battery staple"
# The scores answered in each region: SH above the minimum sample (30), BJ below it.
SCORES = {
    "BJ": [10, 10, 9, 9, 9, 9, 8, 8, 7, 6, 5, 3, 10, 9, 9, 8, 10, 2, 9, 10],
    "SH": [10, 9, 8, 7, 7, 6, 6, 5, 4, 3, 2, 9, 10, 0, 6, 8, 9, 1] * 2,
}
TOUCHPOINTS = ["hotline", "store_own", "online"]


COMMENTS = ["信号太差，经常断线", "账单扣费不明", "营业厅排队太久", "客服态度差", "网速慢"]


def responses_create() -> None:
    """Answered surveys over the last week, reasons read from the comments, a case for
    every detractor (every other one contacted)."""
    seed_taxonomy()  # an earlier transactional test may have flushed the seeded reasons
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
                occurred_at=now - timedelta(days=i % 6, hours=2),
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
                comment=COMMENTS[i % len(COMMENTS)] if score <= 6 else "",
            )
            answered = invitation.responded_at
            Response.objects.filter(pk=response.pk).update(created_at=answered)
            response.created_at = answered
            if response.category == Category.DETRACTOR:
                response_categorise(response=response)
                case = Case.objects.create(
                    response=response,
                    customer=customer,
                    priority="P2",
                    team=team,
                    sla_due_at=answered + timedelta(hours=8),
                    first_contact_at=answered + timedelta(hours=1 + i % 12) if i % 2 else None,
                )
                Case.objects.filter(pk=case.pk).update(opened_at=answered)


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
    """The headline's figures as the page shows them (the text a supervisor reads)."""
    headline = page.locator("#headline")

    def shown(selector: str) -> str:
        return headline.locator(selector).first.inner_text().strip()

    def count_in_brackets(name: str) -> int:  # "39% (14)" -> 14
        found = re.search(r"\((\d+)\)", shown(f'[data-figure="{name}"]'))
        assert found, f"{name}: no count shown"
        return int(found.group(1))

    figures = {
        "responses": int(shown('[data-figure="responses"]')),
        "nps": int(shown('[data-figure="nps"] .nps.big').replace("\u2212", "-")),
    }
    return figures | {name: count_in_brackets(name) for name in Category.values}


def test_supervisor_filters_by_region_and_sees_the_database_figures(
    chromium: Any, live_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Playwright's sync API keeps an event loop in this thread; the ORM calls are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from nps.reporting.rebuild import rollups_rebuild

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

    # Below the minimum sample the NPS is not shown as a number, anywhere in the headline.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.select_option('select[name="region"]', "BJ")
    page.locator('form [type="submit"]').first.click()
    page.wait_for_url("**region=BJ**")
    nps = page.locator('#headline [data-figure="nps"]')
    assert (
        nps.locator(".insufficient").inner_text().strip() == "Needs at least 30 answers; 20 so far"
    )
    assert nps.locator(".nps").count() == 0
    assert nps.get_attribute("data-value") == ""


# What each language calls the default period.
LANGUAGES = {"en": "Last 30 days", "zh-hans": "最近 30 天"}
WIDTHS = {1366: 900, 390: 844}


def scrolls_sideways(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def wrapped(page: Any, selector: str) -> list[str]:
    """The texts of the elements matching `selector` that take more than one line."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].filter((el) => {
            const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
            const lines = new Set();
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const range = document.createRange();
                range.selectNodeContents(node);
                for (const r of range.getClientRects()) {
                    if (r.width) lines.add(Math.round(r.bottom));
                }
            }
            return lines.size > 1;
        }).map((el) => el.textContent.trim())""",
        selector,
    )


def test_dashboard_and_admin_in_both_languages_at_desktop_and_phone_widths(
    chromium: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from nps.reporting.rebuild import rollups_rebuild

    supervisor_create()
    responses_create()
    rollups_rebuild()
    page = chromium.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/dashboard/")  # a supervisor lands on the dashboard (followups.landing)
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    for language, default_period in LANGUAGES.items():
        page.context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        for width, height in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{live_server.url}/dashboard/")
            page.wait_for_selector("#pareto-chart .main-svg")
            shown = page.locator('select[name="preset"] option:checked').inner_text().strip()
            assert shown == default_period, (language, width)
            ticks = page.locator("#pareto-chart .ytick text").all_text_contents()
            assert ticks, "the reasons chart has a count axis"
            assert all(re.fullmatch(r"\d+", t.replace(",", "")) for t in ticks), ticks
            assert not scrolls_sideways(page), ("dashboard", language, width)
            assert wrapped(page, ".badge, .presets a, th") == [], (language, width)
            name = f"dashboard-{'zh' if language != 'en' else 'en'}-{width}.png"
            page.screenshot(path=DOCS_SCREENSHOTS / name, full_page=True)

            page.goto(f"{live_server.url}/admin/")
            assert page.locator("#dashboard-link").count() == 1
            assert not scrolls_sideways(page), ("admin index", language, width)
            name = f"admin-index-{'zh' if language != 'en' else 'en'}-{width}.png"
            page.screenshot(path=DOCS_SCREENSHOTS / name, full_page=True)

            page.goto(f"{live_server.url}/admin/followups/case/")
            headings = "#result_list thead .text, #result_list td.field-status"
            assert wrapped(page, headings) == [], (language, width)

        # Few detractors (Beijing's): Plotly's own ticks would be 0.5 apart.
        page.goto(f"{live_server.url}/dashboard/?region=BJ")
        page.wait_for_selector("#pareto-chart .main-svg")
        ticks = page.locator("#pareto-chart .ytick text").all_text_contents()
        assert ticks
        assert all(re.fullmatch(r"\d+", t) for t in ticks), ticks

        # Apply without changes keeps the period shown (it used to switch to 7 days).
        page.set_viewport_size({"width": 1366, "height": 900})
        page.goto(f"{live_server.url}/dashboard/")
        header = page.locator("header.top .muted").inner_text()
        page.locator('form [type="submit"]').first.click()
        page.wait_for_url("**preset=30**")
        assert page.locator("header.top .muted").inner_text() == header
        shown = page.locator('select[name="preset"] option:checked').inner_text().strip()
        assert shown == default_period
