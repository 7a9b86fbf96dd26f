"""What people read about an alert: its place and figures in the active language, the
ALERT_RAISED payload (a bot shows its title and text, nps/outbound/formats.py) and the
email listing a rule's new alerts (Chinese, then English)."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from nps.models import Alert, AlertKind, AlertMetric, AlertRule
from surveys.models import ReasonCategory, Touchpoint, Unit


@dataclass
class Names:
    """Labels of units and reasons, read once per evaluation."""

    units: dict[int, str]
    reasons: dict[int, tuple[str, str]]  # id -> (name_en, name_zh)

    @classmethod
    def read(cls) -> "Names":
        return cls(
            units=dict(Unit.objects.values_list("pk", "name")),
            reasons={pk: (en, zh) for pk, en, zh in
                     ReasonCategory.objects.values_list("pk", "name_en", "name_zh")},
        )  # fmt: skip

    @classmethod
    def of(cls, alert: Alert) -> "Names":
        """From the alert's own unit and reason (select_related: no query)."""
        unit, reason = alert.unit, alert.reason
        return cls(
            units={unit.pk: unit.name} if unit else {},
            reasons={reason.pk: (reason.name_en, reason.name_zh)} if reason else {},
        )


def place_label(alert: Alert, names: Names) -> str:
    """Where, in the active language: unit, touchpoint or region, and the reason."""
    parts = []
    if alert.unit_id:
        parts.append(names.units.get(alert.unit_id, f"#{alert.unit_id}"))
    if alert.touchpoint:
        try:
            parts.append(str(Touchpoint(alert.touchpoint).label))
        except ValueError:
            parts.append(alert.touchpoint)
    if alert.region:
        parts.append(_("region %(region)s") % {"region": alert.region})
    if alert.reason_id:
        en, zh = names.reasons.get(alert.reason_id, (str(alert.reason_id), ""))
        zh_active = (translation.get_language() or "").startswith("zh")
        parts.append(_("reason: %(reason)s") % {"reason": (zh or en) if zh_active else en})
    return ", ".join(parts) or _("everywhere")


def figure_text(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric in (AlertMetric.DETRACTOR_SHARE, AlertMetric.REASON_SHARE):
        return f"{value:.1f}%"
    if metric == AlertMetric.NPS:
        return f"{value:.1f}"
    return f"{value:.0f}"


def alert_lines(alert: Alert, names: Names) -> tuple[str, list[str]]:
    """(title, lines) of an alert in the active language, for email and bot messages."""
    rule = alert.rule
    title = _("%(rule)s: %(place)s") % {"rule": rule.name, "place": place_label(alert, names)}
    values = {
        "metric": str(AlertMetric(rule.metric).label),
        "value": figure_text(rule.metric, alert.value),
        "baseline": figure_text(rule.metric, alert.baseline), "answers": alert.sample,
        "start": alert.window_start.isoformat(), "end": alert.window_end.isoformat(),
        "threshold": figure_text(rule.metric, rule.threshold),
    }  # fmt: skip
    if rule.kind in (AlertKind.DROP, AlertKind.SURGE):
        lines = [_("%(metric)s: %(value)s, against %(baseline)s before") % values]
        lines.append(_("p-value: %(p)s") % {"p": f"{alert.p_value:.4f}"})
    elif rule.kind == AlertKind.SLA_BACKLOG:
        lines = [_("Cases past their SLA now: %(value)s (threshold %(threshold)s)") % values]
    else:
        lines = [_("%(metric)s: %(value)s (threshold %(threshold)s)") % values]
    if rule.kind != AlertKind.SLA_BACKLOG:
        lines.append(_("Window: %(start)s to %(end)s, %(answers)s answers") % values)
    lines.append(_("Details: %(link)s") % {"link": alert_link(alert)})
    return title, lines


def alert_link(alert: Alert) -> str:
    path = reverse("admin:nps_alert_change", args=[alert.pk])
    return f"{settings.NPS_PUBLIC_BASE_URL.rstrip('/')}{path}"


def alert_payload(alert: Alert, names: Names) -> dict[str, Any]:
    """The ALERT_RAISED event: figures for machines, title and text for the bots."""
    with translation.override(settings.NPS_WEBHOOK_LANGUAGE):
        title, lines = alert_lines(alert, names)
    rule = alert.rule
    return {
        "alert_id": alert.pk, "rule_id": rule.pk, "rule": rule.name, "kind": rule.kind,
        "metric": rule.metric, "key": alert.key, "unit_id": alert.unit_id,
        "touchpoint": alert.touchpoint, "region": alert.region, "reason_id": alert.reason_id,
        "value": alert.value, "baseline": alert.baseline, "p_value": alert.p_value,
        "answers": alert.sample, "window_start": alert.window_start.isoformat(),
        "window_end": alert.window_end.isoformat(), "link": alert_link(alert),
        "title": title, "text": "\n\n".join(lines),
    }  # fmt: skip


def alerts_email(rule: AlertRule, alerts: list[Alert], names: Names) -> int:
    """One message to the rule's recipients listing `alerts`, in Chinese then English.
    Called after the commit (network outside the transaction); returns messages sent."""
    recipients = [line.strip() for line in rule.recipients.splitlines() if line.strip()]
    if not alerts or not recipients:
        return 0
    parts, subjects = [], []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            subjects.append(_("%(count)s new alerts: %(rule)s")
                            % {"count": len(alerts), "rule": rule.name})  # fmt: skip
            for alert in alerts:
                title, lines = alert_lines(alert, names)
                parts.append("\n".join([title, *(f"  {line}" for line in lines)]))
        parts.append("")
    send_mail(" / ".join(subjects), "\n\n".join(parts).strip() + "\n",
              settings.DEFAULT_FROM_EMAIL, recipients)  # fmt: skip
    Alert.objects.filter(pk__in=[a.pk for a in alerts], emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    return 1
