"""The agent's day and the lead's list in a real browser, in English and Chinese.

An agent logs in, lands on My cases, reads the call list, calls and resolves in one
step; a team lead reads the case list and transfers a case. Each page is checked at
1366×900 and 390×844 for sideways scrolling and overlapping buttons, and photographed
into docs/screenshots/.
"""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from followups.models import Agent, Case, CaseStatus, Team
from followups.permissions import roles_ensure
from followups.roles import AGENTS, SUPERVISORS, TEAM_LEADS
from surveys.models import Category, Invitation, InvitationStatus, Response
from surveys.reasons import response_categorise
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import AgentFactory, CustomerFactory, InteractionFactory, TeamFactory
from tests.surveys.test_reasons import seed_taxonomy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct horse battery staple"
DESKTOP, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}
LANGUAGES = ["en", "zh-hans"]
# What a lead needs in the case list, by column class, all visible at 1366 px.
LEAD_COLUMNS = ["due", "overdue", "agent", "status_badge", "priority_badge"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (pages and contexts are cheap, browsers not)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls are still sync.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def staff(username: str, role: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def detractor_case(team: Team, agent: Agent, *, phone: str, score: int, comment: str,
                   due_in: timedelta) -> Case:  # fmt: skip
    """An assigned detractor case: raw rows, its reasons read from the comment."""
    now = timezone.now()
    customer = CustomerFactory(phone=phone, name="王芳", region="BJ", tier="A")
    interaction = InteractionFactory(customer=customer, touchpoint="store_own",
                                     occurred_at=now - timedelta(hours=3))  # fmt: skip
    invitation = Invitation.objects.create(
        interaction=interaction, customer=customer, status=InvitationStatus.RESPONDED,
        sent_at=now - timedelta(hours=2), responded_at=now - timedelta(hours=2),
    )  # fmt: skip
    response = Response.objects.create(
        invitation=invitation, customer=customer, interaction=interaction, score=score,
        category=Category.for_score(score), comment=comment,
    )  # fmt: skip
    response_categorise(response=response)
    return Case.objects.create(
        response=response, customer=customer, priority="P1", status=CaseStatus.ASSIGNED,
        team=team, agent=agent, assigned_at=now - timedelta(hours=1),
        sla_due_at=now + due_in, resolution_due_at=now + due_in + timedelta(days=1),
    )  # fmt: skip


@pytest.fixture
def workplace() -> dict[str, Any]:
    """North (Beijing time): Ann and Al answer to Lena; Ann has an overdue and a due case."""
    seed_taxonomy()
    roles_ensure()
    lena = staff("lena", TEAM_LEADS)
    north = TeamFactory(name="North", regions=["BJ"], lead=lena, time_zone="Asia/Shanghai")
    ann = AgentFactory(name="Ann", team=north, user=staff("ann", AGENTS))
    AgentFactory(name="Al", team=north, user=staff("al", AGENTS))
    cases = [
        detractor_case(north, ann, phone="+8613812341234", score=3, due_in=timedelta(minutes=-20),
                       comment="信号太差，经常断线，账单也扣费不明"),
        detractor_case(north, ann, phone="+8613955556666", score=5, due_in=timedelta(minutes=110),
                       comment="营业厅排队太久"),
    ]  # fmt: skip
    return {"cases": cases, "ann": ann}


def open_page(browser: Any, live_server: Any, language: str, username: str) -> Any:
    """A page of a new context in `language`, logged in through the login form."""
    context = browser.new_context(viewport=DESKTOP, timezone_id="Asia/Shanghai")  # in Beijing
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    return page


def assert_fits(page: Any, name: str) -> None:
    """No sideways scrolling, no button text spilling out of its button; photographed."""
    width = page.viewport_size["width"]
    scroll = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll[0] <= scroll[1], f"{name}: scrolls sideways ({scroll[0]} > {scroll[1]})"
    spilled = page.evaluate("""() => [...document.querySelectorAll(
        'a.button, input[type=submit], button, .object-tools a')]
        .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1)
        .map(e => e.textContent.trim() || e.value)""")
    assert spilled == [], f"{name}: text wider than its button: {spilled}"
    overlapping = page.evaluate("""() => {
        const boxes = [...document.querySelectorAll('a.button, input[type=submit], button')]
          .filter(e => e.offsetParent).map(e => e.getBoundingClientRect());
        let n = 0;
        boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {
          if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1
              && b.top < a.bottom - 1) n++; }));
        return n; }""")
    assert overlapping == 0, f"{name}: {overlapping} buttons overlap"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)


def at_both_widths(page: Any, name: str) -> None:
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        page.reload()
        assert_fits(page, name)


def short(language: str) -> str:
    return "zh" if language.startswith("zh") else "en"


@pytest.mark.parametrize("language", LANGUAGES)
def test_agent_logs_in_sees_the_call_list_calls_and_resolves_in_one_step(
    browser: Any, live_server: Any, workplace: dict[str, Any], language: str,
) -> None:  # fmt: skip
    overdue, later = workplace["cases"]
    page = open_page(browser, live_server, language, "ann")
    assert page.url.endswith("/admin/followups/case/mine/")  # not the site index
    cards = page.locator(".call-card")
    assert cards.count() == 2
    first = cards.nth(0)
    assert first.get_attribute("data-case") == str(overdue.pk)  # overdue first, highlighted
    assert "urgency-overdue" in first.get_attribute("class")
    assert first.locator(f'a[href="tel:{overdue.customer.phone}"]').is_visible()
    assert "信号太差" in first.locator("blockquote.words").inner_text()
    assert first.locator(".reason").count() >= 1
    assert "(Asia/Shanghai)" in first.locator(".due-at").inner_text()
    at_both_widths(page, f"agent-my-cases-{short(language)}")

    page.goto(f"{live_server.url}/admin/followups/case/{overdue.pk}/change/")
    assert "138****1234" in page.locator("#content h1").inner_text()
    at_both_widths(page, f"agent-case-{short(language)}")

    page.goto(f"{live_server.url}/admin/followups/case/mine/")
    form = page.locator(f'.call-card[data-case="{overdue.pk}"] form')
    form.locator('select[name="outcome"]').select_option("reached")
    form.locator('input[name="solved"]').check()
    assert form.locator('input[name="root_causes"]:checked').count() >= 1  # from the reasons
    form.locator('input[name="action_taken"]').fill("Replaced the SIM")
    form.locator('textarea[name="note"]').fill("Signal fine now")
    form.locator("input[type=submit]").click()
    page.wait_for_selector(".messagelist")
    assert page.locator(".call-card").count() == 1
    overdue.refresh_from_db()
    assert overdue.status == CaseStatus.RESOLVED
    assert overdue.attempts.get().outcome == "reached"
    assert later.pk == int(page.locator(".call-card").first.get_attribute("data-case"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_lead_reads_the_case_list_and_transfers_a_case(
    browser: Any, live_server: Any, workplace: dict[str, Any], language: str,
) -> None:  # fmt: skip
    page = open_page(browser, live_server, language, "lena")
    assert page.url.endswith("/admin/followups/case/")  # her teams' cases, not the index
    for column in LEAD_COLUMNS:
        heading = page.locator(f"#result_list th.column-{column}")
        box = heading.bounding_box()
        assert box is not None, column
        assert box["x"] + box["width"] <= DESKTOP["width"], column
    due_cells = page.locator("#result_list td.field-due")
    assert due_cells.count() == 2
    first_row = page.locator("#result_list tbody tr").first.locator("th.field-id")
    assert first_row.inner_text() == str(workplace["cases"][0].pk)  # soonest due first
    at_both_widths(page, f"lead-cases-{short(language)}")

    # The team page as a supervisor edits it: agents' language boxes in the inline.
    staff("sue", SUPERVISORS)
    team = Team.objects.get(name="North")
    editor = open_page(browser, live_server, language, "sue")
    editor.goto(f"{live_server.url}/admin/followups/team/{team.pk}/change/")
    assert editor.locator('input[name="agents-0-languages"]').count() == 3
    assert_fits(editor, f"supervisor-team-{short(language)}")

    case = workplace["cases"][1]
    page.goto(f"{live_server.url}/admin/followups/case/{case.pk}/transfer/")
    al = Agent.objects.get(name="Al")
    page.select_option('select[name="agent"]', str(al.pk))
    page.fill('input[name="reason"]', "Ann is at a training")
    at_both_widths(page, f"lead-transfer-{short(language)}")
    page.select_option('select[name="agent"]', str(al.pk))
    page.fill('input[name="reason"]', "Ann is at a training")
    page.locator("input[type=submit]").click()
    page.wait_for_selector(".messagelist")
    case.refresh_from_db()
    assert case.agent == al
