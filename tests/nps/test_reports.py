"""Reports on a cadence: periods, the figures of a unit's subtree, delivery once per period,
and who may read them."""

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core import mail
from django.db import connection
from django.test import Client

from followups.models import Case, ProblemStatus
from followups.problems import problem_open
from followups.roles import SUPERVISORS
from nps.models import Report, ReportCadence, ReportSubscription
from nps.reporting.refresh import rollups_refresh_day
from nps.reports.data import report_data
from nps.reports.periods import Period, last_complete, period_before, period_containing
from nps.reports.schedule import due_periods, report_generate, report_send, reports_generate_due
from surveys.models import Interaction, Response, Unit, UnitKind, Voice
from surveys.voice import voices_backfill
from tests.reporting.test_rollups import case_create, local_day, response_create

M, T, DAY = ReportCadence.MONTHLY, ReportCadence.TEN_DAY, ReportCadence.DAILY


# ---------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        (date(2026, 3, 1), date(2026, 3, 1), date(2026, 3, 10)),
        (date(2026, 3, 10), date(2026, 3, 1), date(2026, 3, 10)),
        (date(2026, 3, 11), date(2026, 3, 11), date(2026, 3, 20)),
        (date(2026, 3, 20), date(2026, 3, 11), date(2026, 3, 20)),
        (date(2026, 3, 21), date(2026, 3, 21), date(2026, 3, 31)),
        (date(2026, 4, 30), date(2026, 4, 21), date(2026, 4, 30)),
        (date(2027, 2, 28), date(2027, 2, 21), date(2027, 2, 28)),
        (date(2028, 2, 29), date(2028, 2, 21), date(2028, 2, 29)),  # leap February
    ],
)
def test_ten_day_periods_end_on_the_10th_the_20th_and_the_month_end(
    day: date, start: date, end: date
) -> None:
    assert period_containing(T, day) == Period(T, start, end)


def test_a_month_is_the_calendar_month_even_in_a_leap_february() -> None:
    assert period_containing(M, date(2028, 2, 10)) == Period(M, date(2028, 2, 1), date(2028, 2, 29))
    assert period_containing(M, date(2026, 12, 31)).start == date(2026, 12, 1)


def test_the_period_before_the_first_ten_days_is_the_last_days_of_the_month_before() -> None:
    first = period_containing(T, date(2028, 3, 5))
    assert period_before(first) == Period(T, date(2028, 2, 21), date(2028, 2, 29))
    assert period_before(period_containing(M, date(2027, 1, 9))).start == date(2026, 12, 1)


def test_the_last_complete_period_is_the_one_that_ended_yesterday_or_before() -> None:
    assert last_complete(DAY, date(2026, 3, 1)) == Period(DAY, date(2026, 2, 28), date(2026, 2, 28))
    assert last_complete(T, date(2026, 3, 11)).end == date(2026, 3, 10)
    assert last_complete(T, date(2026, 3, 10)).end == date(2026, 2, 28)
    assert last_complete(M, date(2026, 4, 1)) == Period(M, date(2026, 3, 1), date(2026, 3, 31))


def test_reports_are_due_after_six_in_the_morning_local_time() -> None:
    # 2026-04-01 05:59 and 06:01 in Shanghai are 21:59 and 22:01 UTC the day before.
    assert due_periods(datetime(2026, 3, 31, 21, 59, tzinfo=UTC)) == []
    due = due_periods(datetime(2026, 3, 31, 22, 1, tzinfo=UTC))
    assert {p.cadence: (p.start, p.end) for p in due} == {
        DAY: (date(2026, 3, 31), date(2026, 3, 31)),
        T: (date(2026, 3, 21), date(2026, 3, 31)),
        M: (date(2026, 3, 1), date(2026, 3, 31)),
    }


# ---------------------------------------------------------------- a unit's month


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 4, 0, tzinfo=UTC)  # noon in Shanghai


def answer(
    unit: Unit, when: datetime, score: int, comment: str = "", *reasons: str, **dims: Any
) -> Any:
    response = response_create(at=when, score=score, comment=comment, reasons=reasons, **dims)
    Interaction.objects.filter(pk=response.interaction_id).update(unit=unit)
    return response


@pytest.fixture
def tree(db: Any) -> dict[str, Unit]:
    """A province over two city branches; city A has a store."""
    top = Unit.objects.create(name="西藏公司", kind=UnitKind.PROVINCE)
    city_a = Unit.objects.create(name="拉萨分公司", kind=UnitKind.CITY, parent=top)
    store = Unit.objects.create(name="北京中路营业厅", kind=UnitKind.STORE, parent=city_a)
    city_b = Unit.objects.create(name="那曲分公司", kind=UnitKind.CITY, parent=top)
    return {"top": top, "a": city_a, "store": store, "b": city_b}


@pytest.fixture
def month(tree: dict[str, Unit]) -> dict[str, Unit]:
    """March 2026 (and three February answers) in city A, its store, and city B."""
    store, city_a, city_b = tree["store"], tree["a"], tree["b"]
    answer(store, at(2), 10, "营业员很热情，电话13912345678随时能找到她", "attitude")
    answer(store, at(3), 9, "办理很快，不用排队", "waiting")
    answer(store, at(10), 9, "建议周末多开几个窗口")
    answer(store, at(16), 7)
    answer(store, at(17), 3, "信号差", "network")
    answer(store, at(31), 0, "乱收费，信号也差", "billing", "network")
    answer(city_a, at(16), 2, "网速太慢", "network", touchpoint="store_own")
    answer(city_a, at(20), 10, touchpoint="store_own")
    answer(city_b, at(5), 0, "差", "network")
    answer(city_b, at(6), 0, "太差", "billing")
    for day, score in ((3, 10), (4, 10), (5, 2)):
        answer(store, at(day, month=2), score)
    voices_backfill()
    for day in {local_day(r.created_at) for r in Response.objects.all()}:
        rollups_refresh_day(day=day)
    return tree


MARCH = Period(M, date(2026, 3, 1), date(2026, 3, 31))
FUTURE = datetime(2099, 1, 1, tzinfo=UTC)


@pytest.mark.django_db
def test_a_units_figures_sum_its_subtree_and_nothing_else(month: dict[str, Unit]) -> None:
    data = report_data(unit=month["a"], period=MARCH, language="zh-hans")
    # City A and its store: promoters 10, 9, 9, 10; passive 7; detractors 3, 0, 2.
    assert (data.estimate.counts.promoters, data.estimate.counts.passives) == (4, 1)
    assert data.estimate.counts.detractors == 3
    assert data.estimate.nps == pytest.approx(12.5)  # 100 * (4 - 3) / 8
    # February: 10, 10, 2 -> 100 * (2 - 1) / 3.
    assert data.previous_estimate.nps == pytest.approx(100 / 3)
    assert data.change is not None
    assert data.change.points == pytest.approx(12.5 - 100 / 3)
    assert not data.change.significant


@pytest.mark.django_db
def test_a_monthly_trend_is_by_week_and_counts_every_answer(month: dict[str, Unit]) -> None:
    data = report_data(unit=month["a"], period=MARCH, language="zh-hans")
    assert data.trend_by == "week"
    weeks = {p.day: p.estimate.n for p in data.trend}
    # Mondays: 2 Mar (2, 3), 9 Mar (10), 16 Mar (16, 16, 17, 20), 30 Mar (31); the week
    # of Monday 23 Feb holds only 1 March (no answers).
    assert weeks == {
        date(2026, 3, 2): 2,
        date(2026, 3, 9): 1,
        date(2026, 3, 16): 4,
        date(2026, 3, 30): 1,
    }


@pytest.mark.django_db
def test_nps_by_touchpoint(month: dict[str, Unit]) -> None:
    data = report_data(unit=month["a"], period=MARCH, language="en")
    found = {label: (e.n, e.nps) for label, e in data.touchpoints}
    assert found == {"Hotline": (6, pytest.approx(100 * (3 - 2) / 6)), "Store (own)": (2, 0.0)}


@pytest.mark.django_db
def test_detractor_reasons_and_drivers(month: dict[str, Unit]) -> None:
    data = report_data(unit=month["a"], period=MARCH, language="en")
    assert [(r.code, r.count) for r in data.detractor_reasons] == [("network", 3), ("billing", 1)]
    assert data.detractor_reasons[1].share == pytest.approx(100 / 3)  # of 3 detractors
    assert [(r.code, r.count) for r in data.drivers] == [("attitude", 1), ("waiting", 1)]


@pytest.mark.django_db
def test_voice_of_the_customer_counts_and_masked_verbatims(month: dict[str, Unit]) -> None:
    data = report_data(unit=month["a"], period=MARCH, language="zh-hans")
    counts = {g.voice: g.count for g in data.voices}
    assert counts == {Voice.PRAISE: 2, Voice.PROBLEM: 3, Voice.SUGGESTION: 1}
    praise = next(g for g in data.voices if g.voice == Voice.PRAISE)
    assert [v.score for v in praise.verbatims] == [9, 10]  # newest first
    assert "13912345678" not in praise.verbatims[1].text
    assert "139123***78" in praise.verbatims[1].text


@pytest.mark.django_db
def test_problems_of_the_subtree_with_their_state_and_typical_cases(month: dict[str, Unit]) -> None:
    with time_machine.travel(at(12), tick=False):
        late = problem_open(title="信号投诉集中", responsible_unit=month["store"],
                            deadline=at(14))  # fmt: skip
        problem_open(title="资费解释不清", responsible_unit=month["a"], deadline=FUTURE)
        problem_open(title="别人的问题", responsible_unit=month["b"], deadline=at(14))
    with time_machine.travel(at(20, month=2), tick=False):
        gone = problem_open(
            title="二月已关闭", responsible_unit=month["a"], deadline=at(25, month=2)
        )
    type(gone).objects.filter(pk=gone.pk).update(
        status=ProblemStatus.CLOSED, closed_at=at(26, month=2)
    )
    detractor = month["store"].interactions.get(responses__score=0).responses.get()
    case = case_create(detractor, unit=month["store"], typical=True, typical_note="收费争议")
    case_create(month["b"].interactions.first().responses.get(), unit=month["b"], typical=True)
    data = report_data(unit=month["a"], period=MARCH, language="zh-hans")
    assert {p.title for p in data.problems} == {"信号投诉集中", "资费解释不清"}
    assert data.problem_counts[ProblemStatus.OPEN] == 2
    assert data.problems_overdue == 1
    assert data.problems[0].pk == late.pk  # the oldest deadline first
    assert [c.pk for c in data.typical_cases] == [case.pk]
    assert isinstance(data.typical_cases[0], Case)


# ---------------------------------------------------------------- making and sending


@pytest.fixture
def no_chromium(settings: Any) -> None:
    settings.NPS_CHROMIUM = "/nonexistent/chromium"


def subscriber(name: str, unit: Unit, cadence: str = M) -> ReportSubscription:
    user = User.objects.create_user(name, email=f"{name}@example.com")
    return ReportSubscription.objects.create(user=user, unit=unit, cadence=cadence)


APRIL_MORNING = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)  # 07:00 on 1 April in Shanghai


@pytest.mark.django_db
@pytest.mark.usefixtures("no_chromium")
def test_without_chromium_the_report_is_a_page_that_says_the_pdf_is_missing(
    month: dict[str, Unit],
) -> None:
    report = report_generate(unit=month["a"], period=MARCH, language="zh-hans")
    assert report.pdf is None
    assert "Chromium" in report.html
    assert "净推荐值" in report.html or "NPS" in report.html
    again = report_generate(unit=month["a"], period=MARCH, language="zh-hans")
    assert again.pk == report.pk
    assert Report.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("no_chromium")
def test_each_subscriber_gets_each_period_once(month: dict[str, Unit]) -> None:
    subscriber("duoji", month["a"])
    subscriber("lamu", month["a"], cadence=T)
    assert reports_generate_due(now=APRIL_MORNING) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["duoji@example.com", "lamu@example.com"]
    made = set(Report.objects.values_list("unit__name", "cadence", "period_start"))
    assert ("拉萨分公司", M, date(2026, 3, 1)) in made
    assert ("西藏公司", DAY, date(2026, 3, 31)) in made  # the top unit: every cadence
    assert ("拉萨分公司", T, date(2026, 3, 21)) in made
    assert reports_generate_due(now=APRIL_MORNING + timedelta(minutes=30)) == 0
    assert len(mail.outbox) == 2
    monthly = next(m for m in mail.outbox if m.to == ["duoji@example.com"])
    assert monthly.alternatives[0][1] == "text/html"


@pytest.mark.django_db
def test_the_email_carries_the_pdf(month: dict[str, Unit]) -> None:
    subscriber("duoji", month["a"])
    report = Report.objects.create(
        unit=month["a"], cadence=M, period_start=MARCH.start, period_end=MARCH.end,
        html="<html>月报</html>", pdf=b"%PDF-1.4 test",
    )  # fmt: skip
    assert report_send(report=report) == 1
    ((name, content, kind),) = mail.outbox[0].attachments
    assert (name.endswith(".pdf"), content, kind) == (True, b"%PDF-1.4 test", "application/pdf")


@pytest.mark.django_db
def test_an_inactive_subscription_gets_nothing(tree: dict[str, Unit]) -> None:
    subscription = subscriber("duoji", tree["a"])
    ReportSubscription.objects.filter(pk=subscription.pk).update(active=False)
    report = Report.objects.create(unit=tree["a"], cadence=M, period_start=MARCH.start,
                                   period_end=MARCH.end, html="x")  # fmt: skip
    assert report_send(report=report) == 0


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_email_once(tree: dict[str, Unit]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL")
    for i in range(5):
        subscriber(f"s{i}", tree["a"])
    report = Report.objects.create(unit=tree["a"], cadence=M, period_start=MARCH.start,
                                   period_end=MARCH.end, html="x")  # fmt: skip
    barrier, sent = threading.Barrier(2), []

    def run() -> None:
        try:
            barrier.wait()
            sent.append(report_send(report=report))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sent) == 5
    assert sorted(m.to[0] for m in mail.outbox) == [f"s{i}@example.com" for i in range(5)]


# ---------------------------------------------------------------- pages


@pytest.fixture
def reports(tree: dict[str, Unit]) -> dict[str, Report]:
    def make(unit: Unit, pdf: bytes | None) -> Report:
        return Report.objects.create(
            unit=unit, cadence=M, period_start=MARCH.start, period_end=MARCH.end,
            html=f"<p>{unit.name}</p>", pdf=pdf,
        )  # fmt: skip

    return {
        name: make(tree[name], b"%PDF-1.4" if name != "b" else None)
        for name in ("top", "a", "store", "b")
    }


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_an_owner_sees_the_reports_of_their_units_only(
    tree: dict[str, Unit], reports: dict[str, Report]
) -> None:
    owner = User.objects.create_user("owner", is_staff=True)
    tree["a"].owners.add(owner)
    client = login(owner)
    listing = client.get("/reports/").content.decode()
    assert "拉萨分公司" in listing
    assert "北京中路营业厅" in listing
    assert "那曲分公司" not in listing
    assert "西藏公司" not in listing
    assert (
        client.get(f"/reports/{reports['store'].pk}/").content.decode() == "<p>北京中路营业厅</p>"
    )
    assert client.get(f"/reports/{reports['a'].pk}.pdf").content == b"%PDF-1.4"
    assert client.get(f"/reports/{reports['b'].pk}/").status_code == 404
    assert client.get(f"/reports/{reports['top'].pk}.pdf").status_code == 404


@pytest.mark.django_db
def test_a_supervisor_sees_every_report(reports: dict[str, Report]) -> None:
    supervisor = User.objects.create_user("supervisor", is_staff=True)
    supervisor.groups.add(Group.objects.get_or_create(name=SUPERVISORS)[0])
    client = login(supervisor)
    assert client.get(f"/reports/{reports['b'].pk}/").status_code == 200
    assert client.get(f"/reports/{reports['b'].pk}.pdf").status_code == 404  # no PDF made
    assert "西藏公司" in client.get("/reports/").content.decode()


@pytest.mark.django_db
def test_someone_without_units_sees_no_report(reports: dict[str, Report]) -> None:
    agent = login(User.objects.create_user("agent", is_staff=True))
    assert agent.get(f"/reports/{reports['a'].pk}/").status_code == 404
    assert "拉萨分公司" not in agent.get("/reports/").content.decode()
    assert Client().get("/reports/").status_code == 302  # to the login page


def test_the_local_day_helper_is_shanghai() -> None:
    assert local_day(at(2)) == date(2026, 3, 2)


@pytest.mark.usefixtures("no_chromium")
def test_a_system_check_warns_when_chromium_is_missing() -> None:
    from nps.reports.checks import check_chromium

    assert [w.id for w in check_chromium()] == ["nps.W101"]


@pytest.mark.django_db
@pytest.mark.usefixtures("no_chromium")
def test_the_daily_report_lists_the_days_warnings_of_the_subtree(tree: dict[str, Unit]) -> None:
    from nps.models import Alert, AlertKind, AlertMetric, AlertRule

    rule = AlertRule.objects.create(
        name="NPS低于门限", kind=AlertKind.THRESHOLD, metric=AlertMetric.NPS, threshold=0
    )
    day = date(2026, 3, 16)

    def alert(unit: Unit, raised: datetime, message: str) -> None:
        with time_machine.travel(raised, tick=False):
            Alert.objects.create(
                rule=rule, key=f"unit={unit.pk}|{message}", unit=unit, window_start=day,
                window_end=day, value=-20, message=message,
            )  # fmt: skip

    alert(tree["store"], at(16), "北京中路营业厅 NPS -20")
    alert(tree["b"], at(16), "那曲分公司 NPS -20")
    alert(tree["store"], at(17), "次日的预警")
    report = report_generate(unit=tree["a"], period=Period(DAY, day, day), language="zh-hans")
    assert "北京中路营业厅 NPS -20" in report.html
    assert "那曲分公司 NPS -20" not in report.html
    assert "次日的预警" not in report.html


@pytest.mark.django_db
def test_the_list_page_takes_a_fixed_number_of_queries(
    reports: dict[str, Report], django_assert_max_num_queries: Any
) -> None:
    supervisor = User.objects.create_superuser("root")
    client = login(supervisor)
    with django_assert_max_num_queries(6):
        client.get("/reports/")


@pytest.mark.django_db
def test_the_first_week_of_a_month_is_labelled_by_the_months_first_day(
    tree: dict[str, Unit],
) -> None:
    answer(tree["store"], at(1), 10)  # Sunday 1 March: the week of Monday 23 February
    answer(tree["store"], at(2), 0)
    for day in (date(2026, 3, 1), date(2026, 3, 2)):
        rollups_refresh_day(day=day)
    data = report_data(unit=tree["top"], period=MARCH, language="en")
    assert [(p.day, p.estimate.n) for p in data.trend] == [
        (date(2026, 3, 1), 1),
        (date(2026, 3, 2), 1),
    ]
