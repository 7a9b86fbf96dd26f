"""The pool and campaign pages in a real browser: both languages, desktop and phone widths.

A supervisor logs in and opens each page: the figures shown equal those counted here from
the rows, the charts are drawn, the page fits its width and the console stays free of
errors. Screenshots go to docs/screenshots/care-*.png.
"""

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from care.models import EntryReason, ExitReason, MemberKind, PoolMember
from surveys.models import Customer
from tests.browser.test_dashboard import WIDTHS, scrolls_sideways, wrapped
from tests.care.pages_world import PagesWorld, noon, pages_world_make
from tests.followups.personas import Personas, personas_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "pw"  # tests/followups/personas.py
LANGUAGES = {"en": "Dissatisfied-customer pool", "zh-hans": "不满意客户池"}
REASONS = [EntryReason.DETRACTOR, EntryReason.COMPLAINT, EntryReason.CASE_UNRESOLVED,
           EntryReason.REPEATED_CONTACTS, EntryReason.MODEL]  # fmt: skip


def pool_grow(n: int = 60) -> None:
    """More customers over the last 90 days (seeded), so the charts have a shape."""
    rng = random.Random(15)
    for i in range(n):
        customer = Customer.objects.create(
            phone=f"+86139{i:08d}", region=rng.choice(["BJ", "SH", "GZ"]), tier=rng.choice("ABC")
        )
        reason = rng.choice(REASONS)
        entered = noon(rng.randint(0, 89))
        left = entered + timedelta(days=rng.randint(3, 60))
        gone = left < noon(0) and rng.random() < 0.5
        PoolMember.objects.create(
            customer=customer,
            kind=MemberKind.POTENTIAL if reason == EntryReason.MODEL else MemberKind.EXPLICIT,
            reason=reason,
            entered_at=entered,
            left_at=left if gone else None,
            exit_reason=ExitReason.LATER_ANSWER if gone else "",
            risk=round(rng.uniform(0.3, 0.95), 2) if reason == EntryReason.MODEL else None,
            factors=[{"feature": "complaints_90d", "value": rng.randint(1, 4), "contribution": 0.3}]
            if reason == EntryReason.MODEL
            else [],
        )


def world_make() -> tuple[Personas, PagesWorld]:
    people = personas_make()
    world = pages_world_make(people)
    pool_grow()
    return people, world


def logged_in(chromium: Any, live_server: Any, user: User) -> tuple[Any, list[str]]:
    page = chromium.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []

    def console(message: Any) -> None:
        # The browser asks for /favicon.ico by itself on the admin's login page, which
        # names no icon; our pages name one (none), so a 404 there is not theirs.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(f"{message.text} {message.location['url']}")

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{live_server.url}/admin/login/?next=/care/pool/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/care/pool/")
    return page, errors


def shot(page: Any, name: str) -> None:
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=DOCS_SCREENSHOTS / name, full_page=True)


def test_pool_and_campaign_pages_in_both_languages_at_desktop_and_phone_widths(
    chromium: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    people, world = world_make()
    in_pool = PoolMember.objects.filter(left_at__isnull=True).values("customer").distinct().count()
    reasons = PoolMember.objects.values("reason").distinct().count()  # all within 90 days
    page, errors = logged_in(chromium, live_server, people.supervisor)
    campaign_url = f"{live_server.url}/care/campaigns/{world.winback.pk}/"

    for language, title in LANGUAGES.items():
        short = "zh" if language != "en" else "en"
        page.context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        for width, height in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})

            page.goto(f"{live_server.url}/care/pool/")
            for chart in ("series", "region", "tier"):
                page.wait_for_selector(f"#{chart}-chart .main-svg")
            assert page.locator("h1").inner_text().strip() == title
            shown = page.locator('[data-figure="customers"]').inner_text().strip()
            assert shown == str(in_pool), (language, width)
            legend = page.locator("#series-chart .legendtext").all_text_contents()
            assert len(legend) == reasons  # a line per reason
            assert not scrolls_sideways(page), ("pool", language, width)
            assert wrapped(page, ".badge, nav.pages a, th") == [], ("pool", language, width)
            shot(page, f"care-pool-{short}-{width}.png")

            page.goto(f"{live_server.url}/care/campaigns/")
            assert page.locator("#what-worked tbody tr").count() == 2
            assert not scrolls_sideways(page), ("campaigns", language, width)
            shot(page, f"care-campaigns-{short}-{width}.png")

            page.goto(campaign_url)
            page.wait_for_selector("#before-after-chart .main-svg")
            assert page.locator('[data-figure="covered"]').inner_text().strip() == "4"
            assert page.locator('[data-figure="before"]').inner_text().strip() == "55.0"
            assert page.locator('[data-figure="after"]').inner_text().strip() == "75.0"
            assert page.locator('[data-figure="did"]').inner_text().startswith("+13.3")
            traces = page.locator("#before-after-chart .scatterlayer .trace").count()
            assert traces == 2  # treated and control
            assert not scrolls_sideways(page), ("campaign", language, width)
            shot(page, f"care-campaign-{short}-{width}.png")

    assert errors == []


def test_a_team_lead_sees_their_teams_campaigns_and_regions_only(
    chromium: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    people, world = world_make()
    in_bj = (
        PoolMember.objects.filter(left_at__isnull=True, customer__region="BJ")
        .values("customer")
        .distinct()
        .count()
    )
    page, errors = logged_in(chromium, live_server, people.lead)
    page.wait_for_selector("#region-chart .main-svg")

    assert page.locator('[data-figure="customers"]').inner_text().strip() == str(in_bj)
    assert page.locator("#region-chart .xtick text").all_text_contents() == ["BJ"]
    page.goto(f"{live_server.url}/care/campaigns/")
    names = page.locator("#campaigns tbody td:first-child").all_text_contents()
    assert [n.strip() for n in names] == ["Winback"]
    assert errors == []
    answer = page.goto(f"{live_server.url}/care/campaigns/{world.spring.pk}/")
    assert answer is not None
    assert answer.status == 404


def test_the_demos_finished_campaign_and_pool(
    chromium: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo (seed_demo: 90 days, the pool, a finished campaign) as a supervisor sees it."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.core.management import call_command

    from care.models import Campaign
    from nps.demo_care import FINISHED, care_demo_seed
    from nps.demo_history import history_seed
    from nps.management.commands.seed_demo import DEMO_PASSWORD
    from surveys.models import Survey

    call_command("seed_demo", "--no-history")  # the teams, the survey, the logins
    history_seed(survey=Survey.objects.get())
    care_demo_seed()
    finished = Campaign.objects.get(name=FINISHED)
    page = chromium.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/admin/login/?next=/care/pool/")
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/care/pool/")

    for language in LANGUAGES:
        short = "zh" if language != "en" else "en"
        page.context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        page.goto(f"{live_server.url}/care/pool/")
        page.wait_for_selector("#series-chart .main-svg")
        shot(page, f"care-pool-demo-{short}-1366.png")
        page.goto(f"{live_server.url}/care/campaigns/{finished.pk}/")
        page.wait_for_selector("#before-after-chart .main-svg")
        did = page.locator('[data-figure="did"]').inner_text()
        assert did.startswith("+"), did  # the demo's campaign worked
        shot(page, f"care-campaign-demo-{short}-1366.png")
        page.goto(f"{live_server.url}/care/campaigns/")
        shot(page, f"care-campaigns-demo-{short}-1366.png")
