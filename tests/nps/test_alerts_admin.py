"""The alert admin: the rule form checked per kind, "Evaluate now", the alerts list in the
reader's zone and the acknowledge / resolve actions (recording who)."""

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from nps.admin_alerts import AlertRuleForm
from nps.models import Alert, AlertKind, AlertMetric, AlertPer, AlertRule, AlertState
from nps.outbound import events
from tests.nps.alerts_world import TODAY, Fact, facts_write, rule, tree

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(db: Any, monkeypatch: pytest.MonkeyPatch) -> Client:
    monkeypatch.setattr(events, "task_queue", lambda *a, **kw: None)
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "x"))
    return client


def form(**fields: Any) -> AlertRuleForm:
    data = {
        "name": "rule", "kind": AlertKind.THRESHOLD, "metric": AlertMetric.NPS,
        "per": AlertPer.UNIT, "threshold": "10", "window_days": "1", "baseline_days": "0",
        "min_sample": "30", "confidence": "0.95", "recipients": "", "is_active": "on",
    }  # fmt: skip
    return AlertRuleForm(data=data | fields)


def test_a_complete_threshold_rule_is_valid() -> None:
    assert form().is_valid()


def test_a_threshold_rule_without_a_threshold_is_refused() -> None:
    f = form(threshold="")
    assert not f.is_valid()
    assert list(f.errors) == ["threshold"]


def test_a_surge_of_the_nps_is_refused_for_its_metric() -> None:
    f = form(kind=AlertKind.SURGE, threshold="")
    assert not f.is_valid()
    assert list(f.errors) == ["metric"]


@pytest.mark.parametrize("confidence", ["0.5", "0.999", "1.2"])
def test_a_confidence_outside_half_to_0999_is_refused(confidence: str) -> None:
    f = form(kind=AlertKind.DROP, threshold="", confidence=confidence)
    assert not f.is_valid()
    assert list(f.errors) == ["confidence"]


def test_a_window_of_zero_days_is_refused() -> None:
    assert list(form(window_days="0").errors) == ["window_days"]


def test_evaluate_now_raises_the_rules_alerts(admin_client_: Client) -> None:
    t = tree()
    facts_write(Fact(TODAY, 0, 0, 40, dims={"unit_id": t.store3.pk}))
    chosen = rule(unit=t.store3, window_days=400)  # today's date is not TODAY: a wide window
    answer = admin_client_.post(
        reverse("admin:nps_alertrule_changelist"),
        {"action": "evaluate_now", "_selected_action": [chosen.pk]},
        follow=True,
    )
    assert answer.status_code == 200
    assert Alert.objects.filter(rule=chosen, unit=t.store3).count() == 1
    assert "1 new alert raised." in answer.content.decode()


def test_the_list_shows_the_place_and_figure_and_actions_record_who(admin_client_: Client) -> None:
    t = tree()
    facts_write(Fact(TODAY, 0, 0, 40, dims={"unit_id": t.store3.pk}))
    chosen = rule(unit=t.store3, window_days=400)
    admin_client_.post(
        reverse("admin:nps_alertrule_changelist"),
        {"action": "evaluate_now", "_selected_action": [chosen.pk]},
    )
    alert = Alert.objects.get()
    page = admin_client_.get(reverse("admin:nps_alert_changelist")).content.decode()
    assert "Store 3" in page
    assert "-100.0" in page
    for action, state in (("acknowledge", AlertState.ACKNOWLEDGED),
                          ("resolve", AlertState.RESOLVED)):  # fmt: skip
        admin_client_.post(
            reverse("admin:nps_alert_changelist"),
            {"action": action, "_selected_action": [alert.pk]},
        )
        alert.refresh_from_db()
        assert alert.state == state
    root = User.objects.get(username="root")
    assert alert.acknowledged_by == root
    assert LogEntry.objects.filter(object_id=str(alert.pk), user=root).count() == 2
    assert AlertRule.objects.count() == 1
