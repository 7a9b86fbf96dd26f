"""Alert rules from the rollups: thresholds, significance with known p-values, minimum
samples, surges, SLA backlogs, parent-unit sums, once per window, states, delivery."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from followups.cases import case_open
from followups.models import Case, Problem, ProblemSource
from nps import alerts
from nps.models import (
    Alert,
    AlertKind,
    AlertMetric,
    AlertPer,
    AlertState,
    EventType,
    WebhookDelivery,
    WebhookKind,
)
from nps.outbound import events, sending
from nps.reporting.days import local_today
from nps.reporting.refresh import rollups_refresh_day
from surveys.models import Interaction
from tests.nps.alerts_world import TODAY, Fact, facts_replace, facts_write, reason, rule, tree
from tests.nps.fakes import Fake, serving
from tests.nps.outbound_world import answered, subscription

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deliveries are sent by calling the sweeper's service, as its task does."""
    monkeypatch.setattr(events, "task_queue", lambda *a, **kw: None)
    monkeypatch.setattr(sending, "task_queue", lambda *a, **kw: None)


def evaluate() -> list[Alert]:
    return alerts.alerts_evaluate(today=TODAY)


def keys(found: list[Alert]) -> set[str]:
    return {a.key for a in found}


def test_a_store_below_the_nps_threshold_raises_an_alert_with_its_figure() -> None:
    t = tree()
    facts_write(
        Fact(TODAY, 10, 10, 20, dims={"unit_id": t.store3.pk}),  # NPS -25, 40 answers
        Fact(TODAY, 30, 5, 5, dims={"unit_id": t.store1.pk}),  # NPS +62.5
    )
    rule()
    found = evaluate()
    assert keys(found) == {f"unit={t.store3.pk}", f"unit={t.city2.pk}"}
    [store] = [a for a in found if a.unit_id == t.store3.pk]
    assert store.value == pytest.approx(-25.0)
    assert store.sample == 40
    assert (store.window_start, store.window_end) == (TODAY, TODAY)
    # The province: 40 + 40 answers, NPS (40 - 25) / 80 = +18.75: above the threshold.


def test_a_parent_unit_is_judged_on_the_sum_of_its_stores() -> None:
    t = tree()
    # Each store alone is under the minimum sample of 30; city 1 (and the province) has 40
    # answers, 5 promoters and 30 detractors: NPS -62.5.
    facts_write(
        Fact(TODAY, 5, 0, 15, dims={"unit_id": t.store1.pk}),
        Fact(TODAY, 0, 5, 15, dims={"unit_id": t.store2.pk}),
    )
    rule()
    found = evaluate()
    assert keys(found) == {f"unit={t.city1.pk}", f"unit={t.province.pk}"}
    assert [a.value for a in found] == [pytest.approx(-62.5)] * 2


def test_no_alert_below_the_minimum_sample() -> None:
    t = tree()
    facts_write(Fact(TODAY, 0, 0, 29, dims={"unit_id": t.store3.pk}))  # NPS -100, 29 answers
    rule()
    assert evaluate() == []
    facts_replace(Fact(TODAY, 0, 0, 30, dims={"unit_id": t.store3.pk}))
    assert keys(evaluate()) == {f"unit={u.pk}" for u in (t.store3, t.city2, t.province)}


def test_a_significant_nps_drop_raises_with_the_hand_computed_p_value() -> None:
    t = tree()
    facts_write(
        Fact(TODAY - timedelta(days=3), 30, 20, 50, dims={"unit_id": t.store1.pk}),  # -20
        Fact(TODAY - timedelta(days=10), 50, 20, 30, dims={"unit_id": t.store1.pk}),  # +20
    )
    rule(kind=AlertKind.DROP, threshold=None, window_days=7, per=AlertPer.UNIT, unit=t.store1)
    [alert] = evaluate()
    # Adjusted Wald variances 0.0073161 each, z = -40 / 12.0964 = -3.3068, one-sided.
    assert alert.p_value == pytest.approx(0.00047188, rel=1e-4)
    assert (alert.value, alert.baseline) == (pytest.approx(-20.0), pytest.approx(20.0))
    assert (alert.window_start, alert.window_end) == (TODAY - timedelta(days=6), TODAY)


def test_a_detractor_share_rise_is_significant_at_95_but_not_at_999() -> None:
    t = tree()
    facts_write(
        Fact(TODAY - timedelta(days=1), 30, 20, 50, dims={"unit_id": t.store1.pk}),  # 50 %
        Fact(TODAY - timedelta(days=3), 50, 20, 30, dims={"unit_id": t.store1.pk}),  # 30 %
    )
    fields = {"kind": AlertKind.DROP, "metric": AlertMetric.DETRACTOR_SHARE, "threshold": None,
              "window_days": 2, "unit": t.store1}  # fmt: skip
    sure = rule(**fields, name="95 %", confidence=0.95)
    rule(**fields, name="99.9 %", confidence=0.999)
    [alert] = evaluate()
    # Pooled share 0.4, se sqrt(0.4 * 0.6 * 2 / 100) = 0.069282, z = 2.8868, p = 0.0019462.
    assert alert.rule == sure
    assert alert.p_value == pytest.approx(0.0019462, rel=1e-4)
    assert (alert.value, alert.baseline) == (pytest.approx(50.0), pytest.approx(30.0))


def test_a_drop_needs_the_minimum_sample_in_the_baseline_too() -> None:
    t = tree()
    facts_write(
        Fact(TODAY, 0, 0, 40, dims={"unit_id": t.store1.pk}),
        Fact(TODAY - timedelta(days=1), 20, 0, 0, dims={"unit_id": t.store1.pk}),
    )
    rule(kind=AlertKind.DROP, threshold=None, unit=t.store1)
    assert evaluate() == []


def test_a_surge_of_one_reason_raises_for_that_reason_only() -> None:
    t = tree()
    network, billing = reason("network"), reason("billing")
    facts_write(
        Fact(TODAY, 50, 20, 30, {network: 20, billing: 6}, {"unit_id": t.store3.pk}),
        Fact(TODAY - timedelta(days=1), 50, 20, 30, {network: 5, billing: 5},
             {"unit_id": t.store3.pk}),
    )  # fmt: skip
    rule(kind=AlertKind.SURGE, metric=AlertMetric.REASON_SHARE, threshold=None,
         unit=t.store3)  # fmt: skip
    found = evaluate()
    # network: 20 % against 5 %, pooled 0.125, z = 3.2071, p = 0.00067032; billing 6 % against
    # 5 %: p = 0.378, no alert. Store 3 and its city have the same answers.
    assert keys(found) == {f"unit={t.store3.pk}|reason={network.pk}"}
    assert found[0].p_value == pytest.approx(0.00067032, rel=1e-4)
    assert found[0].reason == network


def test_a_reason_count_threshold_counts_the_reasons_detractors() -> None:
    t = tree()
    network = reason("network")
    facts_write(Fact(TODAY, 20, 0, 20, {network: 12}, {"unit_id": t.store1.pk, "touchpoint":
                                                         "hotline"}))  # fmt: skip
    rule(metric=AlertMetric.REASON_COUNT, threshold=10, per=AlertPer.TOUCHPOINT, reason=network)
    [alert] = evaluate()
    assert alert.key == f"touchpoint=hotline|reason={network.pk}"
    assert alert.value == 12


def test_an_sla_backlog_counts_the_overdue_cases_of_each_unit() -> None:
    t = tree()
    cases = [case_open(response=answered(score=1, phone=f"+86139000010{n:02d}")) for n in range(3)]
    ids = [c.pk for c in cases if c is not None]
    Case.objects.filter(pk__in=ids).update(
        unit=t.store2, sla_due_at=timezone.now() - timedelta(hours=1)
    )
    rule(kind=AlertKind.SLA_BACKLOG, metric=AlertMetric.OVERDUE_CASES, threshold=2)
    found = evaluate()
    assert keys(found) == {f"unit={u.pk}" for u in (t.store2, t.city1, t.province)}
    assert {a.value for a in found} == {3.0}
    Case.objects.filter(pk=ids[0]).update(sla_due_at=timezone.now() + timedelta(hours=1))
    assert evaluate() == []  # two overdue now: not above 2, and the open alerts resolve
    assert set(Alert.objects.values_list("state", flat=True)) == {AlertState.RESOLVED}


def test_evaluated_twice_an_alert_is_raised_emailed_and_published_once() -> None:
    t = tree()
    subscription("http://127.0.0.1:9/hook", events=[EventType.ALERT_RAISED])
    facts_write(Fact(TODAY, 0, 0, 40, dims={"unit_id": t.store3.pk}))
    rule(unit=t.city2)
    assert len(evaluate()) == 2  # store 3 and city 2
    assert evaluate() == []
    assert Alert.objects.count() == 2
    assert len(mail.outbox) == 1
    assert WebhookDelivery.objects.filter(event_type=EventType.ALERT_RAISED).count() == 2
    [message] = mail.outbox
    assert message.to == ["quality@example.com"]
    assert "Store 3" in message.body
    assert "City 2" in message.body
    assert "贬损" not in message.subject  # the rule's name is the person's; the words are ours
    assert "2" in message.subject


def test_acknowledge_then_resolve_records_who_and_when() -> None:
    t = tree()
    facts_write(Fact(TODAY, 0, 0, 40, dims={"unit_id": t.store3.pk}))
    rule(unit=t.store3)
    [alert] = evaluate()
    lead = User.objects.create(username="lead")
    assert alerts.alert_acknowledge(alert=alert, by=lead)
    assert not alerts.alert_acknowledge(alert=alert, by=lead)
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledged_by) == (AlertState.ACKNOWLEDGED, lead)
    assert alerts.alert_resolve(alert=alert, by=lead)
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert alert.resolved_at is not None
    assert evaluate() == []  # resolved by a person: the window's condition is not raised again


def test_a_cleared_condition_resolves_its_alert_in_the_same_window() -> None:
    t = tree()
    facts_write(Fact(TODAY, 0, 0, 40, dims={"unit_id": t.store3.pk}))
    rule(unit=t.store3)
    [alert] = evaluate()
    facts_replace(Fact(TODAY, 100, 0, 40, dims={"unit_id": t.store3.pk}))  # NPS now +43
    evaluate()
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED


def test_a_rule_that_opens_problems_opens_one_per_alert_for_its_unit() -> None:
    t = tree()
    facts_write(Fact(TODAY, 0, 0, 40, dims={"unit_id": t.store3.pk}))
    rule(unit=t.store3, open_problem=True)
    [alert] = evaluate()
    evaluate()
    [problem] = Problem.objects.all()
    assert alert.problem == problem
    assert (problem.responsible_unit, problem.place_unit) == (t.store3, t.store3)
    assert problem.source == ProblemSource.ALERT


def test_a_problem_without_a_unit_is_skipped_not_failed() -> None:
    facts_write(Fact(TODAY, 0, 0, 40, dims={"touchpoint": "hotline"}))
    rule(per=AlertPer.TOUCHPOINT, open_problem=True)
    [alert] = evaluate()
    assert alert.key == "touchpoint=hotline"
    assert alert.problem is None
    assert Problem.objects.count() == 0


@pytest.mark.parametrize(("kind", "secret"), [("wecom", ""), ("dingtalk", "SECabc123")])
def test_an_alert_reaches_the_group_bot_as_markdown(kind: str, secret: str) -> None:
    t = tree()
    facts_write(Fact(TODAY, 0, 0, 40, dims={"unit_id": t.store3.pk}))
    rule(name="门店 NPS 预警", unit=t.store3)
    with serving(Fake(kind, secret=secret)) as bot:
        subscription(bot.url, kind=WebhookKind(kind), secret=secret,
                     events=[EventType.ALERT_RAISED])  # fmt: skip
        [alert] = evaluate()
        assert sending.deliveries_send(ids=sending.deliveries_due()) == 1
    assert bot.refused == []
    [message] = bot.accepted
    text = message["markdown"]["content" if kind == "wecom" else "text"]
    title = text.split("\n\n")[0]
    assert title.startswith("### 预警：门店 NPS 预警")  # "Alert: <rule>: <place>" in Chinese
    assert title.endswith("Store 3")
    assert "-100.0" in text  # the NPS of 40 detractors
    assert "2026-11-23" in text
    assert f"/admin/nps/alert/{alert.pk}/change/" in text


def test_answers_recorded_and_rolled_up_raise_the_alert_of_their_store_and_city() -> None:
    t = tree()
    answers = [answered(score=2, phone=f"+86139000020{n:02d}") for n in range(3)]
    Interaction.objects.filter(pk__in=[a.interaction_id for a in answers]).update(unit=t.store2)
    rollups_refresh_day(day=local_today())
    rule(min_sample=3)
    found = alerts.alerts_evaluate()
    assert keys(found) == {f"unit={u.pk}" for u in (t.store2, t.city1, t.province)}
    assert {(a.value, a.sample) for a in found} == {(-100.0, 3)}
