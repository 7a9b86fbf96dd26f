"""The survey page of a link survey (/s/<token>) in a real browser at phone width
(390x844), in Chinese, Tibetan and English: it renders in the customer's language, fits
the width, logs no console error, and a person taps a score and a reason, types a
comment, sends and sees the thanks; the answer is stored as a response. A browser with
JavaScript turned off answers too. Screenshots: docs/screenshots/survey-link-*.png.

The link comes from a real send (the simulator's API on a loopback server). Tibetan
needs a Tibetan font in the browser's system (Debian: fonts-noto-core, Noto Serif
Tibetan; .ci/run installs it).
"""

from importlib import import_module
from pathlib import Path
from typing import Any

import pytest

from surveys.models import ReasonCategory, Response, Survey
from tests.browser.test_dashboard import scrolls_sideways
from tests.surveys.loopback import LoopbackProvider
from tests.surveys.test_links import link_survey, send, simulator, token_sent  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
# customer language -> (html lang, the question as shown, the thanks, the score tapped,
# the comment typed)
LANGUAGES = {
    "zh-hans": ("zh-hans", "您有多大可能向亲友推荐我们的服务？", "感谢您的反馈！", 3,
                "营业厅排队太久了"),
    "bo-zh": ("bo", "ང་ཚོའི་ཞབས་ཞུ་གྲོགས་པོར་འོས་སྦྱོར་བྱེད་སྲིད་དམ།", "ཐུགས་རྗེ་ཆེ།", 8,
              "སྒུག་དགོས་པའི་དུས་ཚོད་རིང་དྲགས།"),  # "the wait was too long"
    "en": ("en", "How likely are you to recommend us to a friend or relative?",
           "Thank you for your answer!", 10, "Quick and friendly"),
}  # fmt: skip


@pytest.fixture(autouse=True)
def database_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API runs an event loop in this thread; the test's own database
    calls are still synchronous (as in the other browser tests)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def taxonomy(db: Any) -> None:
    """The seeded reason categories (a transactional test starts from an emptied database)."""
    seeded = import_module("surveys.migrations.0003_seed_reason_taxonomy").TAXONOMY
    for entry in seeded:
        defaults = {k: v for k, v in entry.items() if k != "code"}
        ReasonCategory.objects.get_or_create(code=entry["code"], defaults=defaults)


def watched(page: Any) -> list[str]:
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(f"{m.text} {m.location['url']}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return errors


def answer_on_phone(page: Any, url: str, score: int, comment: str) -> None:
    page.goto(url)
    page.locator(".scores label").nth(score).click()
    page.locator(".chips label").first.click()
    page.fill("textarea[name=comment]", comment)
    assert page.locator(f'input[name=score][value="{score}"]').is_checked()
    assert page.locator(".chips input").first.is_checked()


def test_a_customer_answers_on_a_phone_in_each_language(
    chromium: Any,
    live_server: Any,
    simulator: LoopbackProvider,  # noqa: F811
    link_survey: Survey,  # noqa: F811
) -> None:
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for n, (language, (lang, question, thanks, score, comment)) in enumerate(LANGUAGES.items(), 1):
        send(n, language=language)
        url = f"{live_server.url}/s/{token_sent(simulator)}"
        page = chromium.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True)
        errors = watched(page)
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == lang
        assert question in page.locator("legend").first.inner_text()
        assert page.locator(".scores input").count() == 11
        assert not scrolls_sideways(page), language
        box = page.locator(".scores label").first.bounding_box()
        assert box is not None
        assert box["height"] >= 44
        assert box["width"] >= 44
        answer_on_phone(page, url, score, comment)
        name = "bo" if lang == "bo" else lang
        page.screenshot(path=str(DOCS_SCREENSHOTS / f"survey-link-{name}.png"), full_page=True)
        page.locator("button[type=submit]").click()
        page.wait_for_selector(".message.recorded")
        assert thanks in page.locator(".message").inner_text()
        assert not scrolls_sideways(page), language
        assert errors == [], (language, errors)
        response = Response.objects.get(invitation__customer__language=language)
        assert response.score == score
        assert response.comment.endswith(comment)
        assert list(response.reasons.values_list("code", flat=True))[:1] == ["network"]
        page.close()


def test_the_page_works_without_javascript(
    chromium: Any,
    live_server: Any,
    simulator: LoopbackProvider,  # noqa: F811
    link_survey: Survey,  # noqa: F811
) -> None:
    send(9)
    url = f"{live_server.url}/s/{token_sent(simulator)}?lang=en"
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    answer_on_phone(page, url, 6, "no script here")
    page.locator("button[type=submit]").click()
    page.wait_for_selector(".message.recorded")
    assert "Thank you for your answer!" in page.locator(".message").inner_text()
    response = Response.objects.get()
    assert (response.score, response.category) == (6, "detractor")
    page.goto(url)  # the link is used: the page says so and takes nothing
    assert "already answered" in page.locator(".message").inner_text()
    context.close()
