"""The unit and staff scorecards in a real browser: both languages, desktop and phone widths.

A supervisor opens the scorecard of the province (tests/nps/scorecard_world.py): the figures
shown equal those counted by hand, ties and verdicts are marked, the page fits its width and
the console stays free of errors. Screenshots go to docs/screenshots/scorecards-*.png.
"""

from typing import Any

import pytest

from nps.models import Target, TargetMetric
from tests.browser.test_care_pages import shot
from tests.browser.test_dashboard import WIDTHS, scrolls_sideways
from tests.nps.scorecard_world import DAY, world_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = {"en": "Unit scorecards", "zh-hans": "单位计分卡"}
STAFF = {"en": "Staff scorecard", "zh-hans": "一线员工计分卡"}


def test_scorecards_in_both_languages_at_desktop_and_phone_widths(
    chromium: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.NPS_DASHBOARD_MIN_SAMPLE = 2
    world = world_make()
    Target.objects.create(
        unit=world.a,
        metric=TargetMetric.NPS,
        value=50,
        period_start=DAY.replace(day=1),
        period_end=DAY.replace(day=31),
    )
    page = chromium.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []

    def console(message: Any) -> None:
        # The admin's login page names no icon, so the browser asks for /favicon.ico itself.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(f"{message.text} {message.location['url']}")

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/admin/login/?next=/scorecards/")
    page.fill("#id_username", world.people.supervisor.get_username())
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_url("**/scorecards/")
    period = f"month={DAY:%Y-%m}"
    for language, title in LANGUAGES.items():
        short = "zh" if language != "en" else "en"
        page.context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        for width, height in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{live_server.url}/scorecards/?{period}")
            assert page.locator("h1").inner_text().strip() == title
            a_nps = page.locator(f'tr[data-unit="{world.a.pk}"] td[data-metric="nps"]')
            assert a_nps.locator(".value").inner_text().startswith("-6.7")
            assert a_nps.get_attribute("data-state") == "missed"
            assert not scrolls_sideways(page), ("units", language, width)
            shot(page, f"scorecards-units-{short}-{width}.png")

            page.goto(f"{live_server.url}/scorecards/staff/?unit={world.province.pk}&{period}")
            assert page.locator("h1").inner_text().strip() == STAFF[language]
            assert page.locator('tr[data-staff="E1"] [data-figure="n"]').inner_text() == "10"
            assert not scrolls_sideways(page), ("staff", language, width)
            shot(page, f"scorecards-staff-{short}-{width}.png")
    assert errors == []
