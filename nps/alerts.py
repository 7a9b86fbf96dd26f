"""Alert rules evaluated from the rollups: find the places whose figure breaks a rule, raise
each condition once per window, deliver it by email and by the webhook outbox.

Reads: one query per rollup table per rule (NpsDaily, plus ReasonDaily for reason
metrics; a live count of overdue cases for SLA backlogs), grouped by the leaf unit and/or
the rule's dimension; a parent unit's figure is the sum of its subtree, added up here.

Window (rolling): the last `window_days` local days ending today (for 1: today). An alert
is identified by (rule, key, window_start) and the database's unique constraint makes it
raised once per window however often and on however many schedulers the job runs: each
insert runs in its own savepoint and only the run whose insert succeeded delivers. A
condition that persists is not raised again while an alert of the same rule and key from
an overlapping window is still open (raised or acknowledged); with 1-day windows a
condition still true tomorrow is a new alert tomorrow.

States: raised -> acknowledged (a person) -> resolved (a person; or automatically when an
evaluation finds the condition cleared while the alert's window overlaps the current one).
"""

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case as When_
from django.db.models import Count, F, QuerySet, Sum, When
from django.db.models.functions import Coalesce
from django.utils import timezone, translation

from followups.models import Case, ProblemSource
from followups.problems import problem_open
from followups.sla import overdue
from nps.alert_messages import Names, alert_lines, alert_payload, alerts_email
from nps.models import (
    Alert,
    AlertKind,
    AlertMetric,
    AlertPer,
    AlertRule,
    AlertState,
    EventType,
    NpsDaily,
    ReasonDaily,
)
from nps.outbound.events import events_publish
from nps.outbound.formats import Event
from nps.reporting.contract import Counts, Filters
from nps.reporting.days import local_today
from nps.reporting.queries import rollup_rows
from nps.reporting.stats import change_p_value, nps, share, shares_p_value, shares_p_values
from surveys.models import Unit
from surveys.units import children_by_parent, units_below

logger = logging.getLogger(__name__)

OPEN = (AlertState.RAISED, AlertState.ACKNOWLEDGED)
KIND_METRICS = {  # which metrics each kind can watch (the admin form checks it)
    AlertKind.THRESHOLD: (
        AlertMetric.NPS, AlertMetric.DETRACTOR_SHARE, AlertMetric.REASON_SHARE,
        AlertMetric.REASON_COUNT,
    ),
    AlertKind.DROP: (AlertMetric.NPS, AlertMetric.DETRACTOR_SHARE),
    AlertKind.SURGE: (AlertMetric.REASON_SHARE,),
    AlertKind.SLA_BACKLOG: (AlertMetric.OVERDUE_CASES,),
}  # fmt: skip
REASON_METRICS = (AlertMetric.REASON_SHARE, AlertMetric.REASON_COUNT)
# Per place: promoters, passives, detractors in the window, then in the baseline; a
# reason's detractors in the window and the baseline; overdue cases now.
NPS_COLUMNS, REASON_COLUMNS = 6, 2
# An alert's event id is derived from its id: a receiver can tell a repeat delivery.
ALERT_EVENTS = uuid.UUID("6f1d3c52-8d47-4b7e-9a51-0c1f6e2b7a10")


class Place(NamedTuple):
    """Where a figure is: a unit, a touchpoint or a region, and a reason (a tuple: tens of
    thousands are made and hashed per evaluation)."""

    unit_id: int | None = None
    touchpoint: str = ""
    region: str = ""
    reason_id: int | None = None

    @property
    def key(self) -> str:
        parts = [
            f"unit={self.unit_id}" if self.unit_id is not None else "",
            f"touchpoint={self.touchpoint}" if self.touchpoint else "",
            f"region={self.region}" if self.region else "",
            f"reason={self.reason_id}" if self.reason_id is not None else "",
        ]
        return "|".join(p for p in parts if p) or "all"


@dataclass(frozen=True)
class Window:
    start: date
    end: date
    base_start: date  # the baseline: [base_start, start), empty for thresholds

    @classmethod
    def of(cls, rule: AlertRule, today: date) -> "Window":
        days = max(1, rule.window_days)
        start = today - timedelta(days=days - 1)
        # Thresholds and backlogs compare with nothing: their baseline is empty.
        compared = rule.kind in (AlertKind.DROP, AlertKind.SURGE)
        base = (rule.baseline_days or days) if compared else 0
        return cls(start=start, end=today, base_start=start - timedelta(days=base))


@dataclass(frozen=True)
class Finding:
    place: Place
    value: float
    baseline: float | None = None
    p_value: float | None = None
    sample: int = 0
    holds: bool = False


@dataclass
class Figures:
    """Sums per place: NPS counts (window and baseline) and per reason its detractors."""

    nps: dict[Place, np.ndarray] = field(default_factory=dict)
    reasons: dict[Place, np.ndarray] = field(default_factory=dict)
    overdue: dict[Place, int] = field(default_factory=dict)


# ---------------------------------------------------------------- reading the figures


def _dims(rule: AlertRule) -> tuple[str, ...]:
    dims = ["unit_id"] if rule.per == AlertPer.UNIT or rule.unit_id else []
    if rule.per in (AlertPer.TOUCHPOINT, AlertPer.REGION):
        dims.append(str(rule.per))
    return tuple(dims)


def _window_sum(column: str, since: date, until: date) -> Sum:
    return Sum(When_(When(day__gte=since, day__lte=until, then=F(column)), default=0))


def _rows(model: Any, rule: AlertRule, window: Window, scope: list[int] | None,
          columns: tuple[str, ...], *extra: str) -> QuerySet[Any]:  # fmt: skip
    """One grouped read of `model` for the rule: window and baseline sums side by side."""
    f = Filters(start=window.base_start, end=window.end, touchpoint=rule.touchpoint,
                region=rule.region)  # fmt: skip
    dims = _dims(rule)
    rows = rollup_rows(model, f, *dims)
    if scope is not None:
        rows = rows.filter(unit_id__in=scope)
    elif "unit_id" in dims:
        rows = rows.exclude(unit_id=0)
    sums = {f"now_{c}": _window_sum(c, window.start, window.end) for c in columns}
    before = window.start - timedelta(days=1)
    sums |= {f"base_{c}": _window_sum(c, window.base_start, before) for c in columns}
    place = PLACE_FIELDS[rule.per]
    # Values then values_list: grouped by the place (and reason), read as plain tuples.
    grouped = rows.values(place, *extra).annotate(**sums)
    return grouped.values_list(place, *extra, *sums).order_by()


PLACE_FIELDS: dict[str, str] = {AlertPer.UNIT: "unit_id", AlertPer.TOUCHPOINT: "touchpoint",
                AlertPer.REGION: "region"}  # fmt: skip


def rule_figures(rule: AlertRule, window: Window, tree: dict[int | None, list[int]]) -> Figures:
    """The rule's sums per place (leaf rows; parent units are summed by `tree_sums`): one
    row per place (and reason), window then baseline columns."""
    scope = units_below(rule.unit_id, tree=tree) if rule.unit_id else None
    figures = Figures()
    if rule.kind == AlertKind.SLA_BACKLOG:
        figures.overdue = _overdue_counts(rule, scope)
        return figures
    make = PLACE_MAKERS[rule.per]
    counts = ("promoters", "passives", "detractors")
    rows = list(_rows(NpsDaily, rule, window, scope, counts))
    # One array for all the rows (a row's sums are a view of it), not one per row.
    sums = np.array([row[1:] for row in rows], dtype=np.int64).reshape(len(rows), 6)
    figures.nps = {make(row[0], None): sums[i] for i, row in enumerate(rows)}
    if rule.metric in REASON_METRICS:
        reasons = _rows(ReasonDaily, rule, window, scope, ("detractors",), "reason_id")
        if rule.reason_id:
            reasons = reasons.filter(reason_id=rule.reason_id)
        rows = list(reasons)
        sums = np.array([row[2:] for row in rows], dtype=np.int64).reshape(len(rows), 2)
        figures.reasons = {make(row[0], row[1]): sums[i] for i, row in enumerate(rows)}
    return figures


PLACE_MAKERS: dict[str, Any] = {
    AlertPer.UNIT: lambda value, reason: Place(value, "", "", reason),
    AlertPer.TOUCHPOINT: lambda value, reason: Place(None, value, "", reason),
    AlertPer.REGION: lambda value, reason: Place(None, "", value, reason),
}


def _overdue_counts(rule: AlertRule, scope: list[int] | None) -> dict[Place, int]:
    """Open cases overdue now (followups.sla.overdue), by the case's unit (else the
    interaction's), the interaction's touchpoint or the customer's region."""
    # Only the joins the rule needs (each costs a lookup per overdue case).
    unit = Coalesce("unit_id", "response__interaction__unit_id")
    cases = Case.objects.filter(overdue(timezone.now()))
    if rule.touchpoint:
        cases = cases.filter(response__interaction__touchpoint=rule.touchpoint)
    if rule.region:
        cases = cases.filter(customer__region=rule.region)
    if scope is not None:
        cases = cases.annotate(place_unit=unit).filter(place_unit__in=scope)
    paths = {"unit": unit, "touchpoint": F("response__interaction__touchpoint"),
             "region": F("customer__region")}  # fmt: skip
    cases = cases.annotate(place=paths[str(rule.per)])
    column = "place"
    found: dict[Place, int] = {}
    for value, n in (
        cases.values_list(column).annotate(n=Count("pk")).order_by().values_list(column, "n")
    ):
        if value is None or value == 0:
            continue
        found[Place(**{PLACE_FIELDS[rule.per]: value})] = n
    return found


def tree_sums(own: dict[Place, Any], tree: dict[int | None, list[int]],
              root: int | None) -> dict[Place, Any]:  # fmt: skip
    """Every unit's figure as the sum of its subtree (within `root`'s, or the whole tree),
    for each reason separately; places without a unit are returned as they are. One numpy
    array (units x reasons x columns), children added into parents bottom-up."""
    if not any(p.unit_id is not None for p in own):
        return own
    if root:
        order = units_below(root, tree=tree)
    else:
        order = [u for top in tree.get(None, []) for u in units_below(top, tree=tree)]
    index: dict[int | None, int] = {unit: i for i, unit in enumerate(order)}
    reasons = sorted({p.reason_id for p in own}, key=lambda r: -1 if r is None else r)
    column = {reason: j for j, reason in enumerate(reasons)}
    scalar = not isinstance(next(iter(own.values())), np.ndarray)
    width = 1 if scalar else len(next(iter(own.values())))
    totals = np.zeros((len(order), len(reasons), width), dtype=np.int64)
    rows = np.fromiter((index.get(p.unit_id, -1) for p in own), dtype=np.int64, count=len(own))
    cols = np.fromiter((column[p.reason_id] for p in own), dtype=np.int64, count=len(own))
    values = np.array(list(own.values()), dtype=np.int64).reshape(len(own), width)
    inside = rows >= 0  # rows outside the subtree are not counted
    np.add.at(totals, (rows[inside], cols[inside]), values[inside])
    parent_of = {child: parent for parent, children in tree.items() for child in children}
    for i in range(len(order) - 1, 0, -1):  # units_below lists a parent before its children
        parent = index.get(parent_of.get(order[i]))
        if parent is not None:
            totals[parent] += totals[i]
    return {
        Place(unit_id=order[i], reason_id=reasons[j]): int(totals[i, j, 0]) if scalar
        else totals[i, j]
        for i, j in np.argwhere(totals.any(axis=2))
    }  # fmt: skip


# ---------------------------------------------------------------- judging the figures


def _counts(values: Any, offset: int) -> Counts:
    return Counts(
        promoters=int(values[offset]), passives=int(values[offset + 1]),
        detractors=int(values[offset + 2]),
    )  # fmt: skip


def rule_findings(rule: AlertRule, figures: Figures) -> list[Finding]:
    """Every place the rule could judge, with whether its condition holds."""
    alpha = 1 - rule.confidence
    found: list[Finding] = []
    if rule.kind == AlertKind.SLA_BACKLOG:
        threshold = rule.threshold if rule.threshold is not None else float("inf")
        for place, n in figures.overdue.items():
            found.append(Finding(place, float(n), sample=n, holds=n > threshold))
        return found
    if rule.metric in REASON_METRICS:
        return _reason_findings(rule, figures, alpha)
    for place, values in figures.nps.items():
        now, before = _counts(values, 0), _counts(values, 3)
        if now.n < max(1, rule.min_sample):
            continue
        if rule.metric == AlertMetric.NPS:
            value = nps(now)
            assert value is not None  # n >= min_sample >= 1  # noqa: S101
            if rule.kind == AlertKind.THRESHOLD:
                below = rule.threshold is not None and value < rule.threshold
                found.append(Finding(place, value, sample=now.n, holds=below))
            elif before.n >= rule.min_sample:
                p = change_p_value(now, before, sided="down")
                found.append(Finding(place, value, nps(before), p, now.n,
                                     holds=p is not None and p < alpha))  # fmt: skip
        else:  # detractor share
            value = share(now.detractors, now.n) or 0.0
            if rule.kind == AlertKind.THRESHOLD:
                above = rule.threshold is not None and value > rule.threshold
                found.append(Finding(place, value, sample=now.n, holds=above))
            elif before.n >= rule.min_sample:
                p = shares_p_value(now.detractors, now.n, before.detractors, before.n, sided="up")
                found.append(Finding(place, value, share(before.detractors, before.n), p, now.n,
                                     holds=p is not None and p < alpha))  # fmt: skip
    return found


def _reason_findings(rule: AlertRule, figures: Figures, alpha: float) -> list[Finding]:
    """A reason's detractors, or their share of all the place's answers, per reason."""
    found: list[Finding] = []
    # Answers per place (window, baseline), read once per place, not once per reason.
    answered = {
        (place.unit_id, place.touchpoint, place.region): (
            int(values[0] + values[1] + values[2]), int(values[3] + values[4] + values[5])
        )
        for place, values in figures.nps.items()
    }
    surges: list[tuple[Place, int, int, int, int]] = []
    for place, (mentions, mentions_before) in figures.reasons.items():
        n, n_before = answered.get((place.unit_id, place.touchpoint, place.region), (0, 0))
        if n < max(1, rule.min_sample):
            continue
        mentions, mentions_before = int(mentions), int(mentions_before)
        if rule.kind == AlertKind.THRESHOLD:
            count = rule.metric == AlertMetric.REASON_COUNT
            value = float(mentions) if count else share(mentions, n) or 0.0
            holds = rule.threshold is not None and value > rule.threshold
            found.append(Finding(place, value, sample=n, holds=holds))
        elif n_before >= rule.min_sample:  # a surge of the reason's share: tested below
            surges.append((place, mentions, n, mentions_before, n_before))
    if surges:  # every place's test at once
        counts = np.array([row[1:] for row in surges], dtype=np.int64)
        p_values = shares_p_values(*counts.T, sided="up")
        for (place, mentions, n, mentions_before, n_before), p in zip(
            surges, p_values.tolist(), strict=True
        ):
            before = share(mentions_before, n_before)
            found.append(Finding(place, share(mentions, n) or 0.0, before, p, n, holds=p < alpha))
    return found


def rule_check(rule: AlertRule, *, today: date,
               tree: dict[int | None, list[int]]) -> tuple[Window, list[Finding]]:  # fmt: skip
    """The rule's window and findings, from the rollups (reads only, no alert written)."""
    window = Window.of(rule, today)
    figures = rule_figures(rule, window, tree)
    if rule.per == AlertPer.UNIT:
        figures.nps = tree_sums(figures.nps, tree, rule.unit_id)
        figures.reasons = tree_sums(figures.reasons, tree, rule.unit_id)
        figures.overdue = tree_sums(figures.overdue, tree, rule.unit_id)
    return window, rule_findings(rule, figures)


# ---------------------------------------------------------------- raising and delivering


def _alert_of(rule: AlertRule, window: Window, finding: Finding, names: Names) -> Alert:
    place = finding.place
    alert = Alert(
        rule=rule, key=place.key, unit_id=place.unit_id, touchpoint=place.touchpoint,
        region=place.region, reason_id=place.reason_id, window_start=window.start,
        window_end=window.end, value=finding.value, baseline=finding.baseline,
        p_value=finding.p_value, sample=finding.sample,
    )  # fmt: skip
    with translation.override(settings.LANGUAGE_CODE):
        title, lines = alert_lines(alert, names)
    alert.message = "\n".join([title, *lines[:-1]])  # the link needs the id: not stored
    return alert


def alerts_raise(rule: AlertRule, window: Window, findings: Iterable[Finding],
                 names: Names) -> list[Alert]:  # fmt: skip
    """Insert an alert per condition that holds; returns only the rows this call inserted.

    Raised at most once per (rule, key, window_start): each insert runs in a savepoint and
    the unique constraint turns a second insert, by this or another scheduler, into an
    IntegrityError (on PostgreSQL the loser waits for the winner's commit). The outbox rows
    and problems are written in the same transaction, so they exist exactly when the alert
    does.
    """
    held = [f for f in findings if f.holds]
    if not held:
        return []
    still_open = set(
        Alert.objects.filter(rule=rule, state__in=OPEN, window_end__gte=window.start)
        .exclude(window_start=window.start)
        .values_list("key", flat=True)
    )
    new: list[Alert] = []
    with transaction.atomic():
        for finding in held:
            if finding.place.key in still_open:
                continue  # the same condition, raised for an overlapping window, still open
            alert = _alert_of(rule, window, finding, names)
            try:
                with transaction.atomic():
                    alert.save(force_insert=True)
            except IntegrityError:
                continue  # raised already, by an earlier run or another scheduler
            new.append(alert)
        if new:
            at = timezone.now()
            events_publish([
                Event(EventType.ALERT_RAISED, str(uuid.uuid5(ALERT_EVENTS, str(a.pk))), at,
                      alert_payload(a, names))
                for a in new
            ])  # fmt: skip
            if rule.open_problem:
                for alert in new:
                    _problem_open(alert, names)
    return new


def _problem_open(alert: Alert, names: Names) -> None:
    unit_id = alert.unit_id or alert.rule.unit_id
    if unit_id is None:
        logger.info("alert %s: no unit to own a problem (rule %s)", alert.pk, alert.rule_id)
        return
    with translation.override(settings.LANGUAGE_CODE):
        title, _lines = alert_lines(alert, names)
    problem = problem_open(
        title=title, responsible_unit=Unit.objects.get(pk=unit_id),
        source=ProblemSource.ALERT, reason=alert.reason, place_unit=alert.unit,
        touchpoint=alert.touchpoint, region=alert.region, alert=alert.pk,
    )  # fmt: skip
    Alert.objects.filter(pk=alert.pk).update(problem=problem)
    alert.problem = problem


def alerts_clear(rule: AlertRule, window: Window, findings: Iterable[Finding]) -> int:
    """Resolve the rule's open alerts of windows overlapping this one whose condition no
    longer holds; returns how many."""
    holding = {f.place.key for f in findings if f.holds}
    cleared = Alert.objects.filter(rule=rule, state__in=OPEN, window_end__gte=window.start)
    return cleared.exclude(key__in=holding).update(
        state=AlertState.RESOLVED, resolved_at=timezone.now()
    )


# ---------------------------------------------------------------- the job and the states


def rule_evaluate(rule: AlertRule, *, today: date | None = None,
                  tree: dict[int | None, list[int]] | None = None,
                  names: Names | None = None) -> list[Alert]:  # fmt: skip
    """Check one rule, raise its new alerts (once per window), resolve cleared ones, email."""
    today = today or local_today()
    tree = children_by_parent() if tree is None else tree
    names = names or Names.read()
    window, findings = rule_check(rule, today=today, tree=tree)
    new = alerts_raise(rule, window, findings, names)
    alerts_clear(rule, window, findings)
    try:
        alerts_email(rule, new, names)
    except OSError:  # SMTP down: the alerts stand (emailed_at stays empty), the hooks went
        logger.exception("alert rule %s: email not sent", rule.pk)
    return new


def alerts_evaluate(*, rules: Iterable[AlertRule] | None = None,
                    today: date | None = None) -> list[Alert]:  # fmt: skip
    """Evaluate every active rule (or `rules`); returns the alerts this run raised. Safe to
    run on several schedulers at once (see alerts_raise)."""
    chosen = (
        list(rules)
        if rules is not None
        else list(AlertRule.objects.filter(is_active=True).select_related("unit", "reason"))
    )
    tree, names = children_by_parent(), Names.read()
    raised: list[Alert] = []
    for rule in chosen:
        raised += rule_evaluate(rule, today=today, tree=tree, names=names)
    return raised


def alert_acknowledge(*, alert: Alert, by: Any) -> bool:
    """Raised -> acknowledged by a person; False if it was not raised."""
    return bool(Alert.objects.filter(pk=alert.pk, state=AlertState.RAISED).update(
        state=AlertState.ACKNOWLEDGED, acknowledged_at=timezone.now(), acknowledged_by=by,
    ))  # fmt: skip


def alert_resolve(*, alert: Alert, by: Any) -> bool:
    """Raised or acknowledged -> resolved by a person; False if already resolved. Who
    resolved is recorded by the caller (the admin's change history)."""
    return bool(
        Alert.objects.filter(pk=alert.pk, state__in=OPEN).update(
            state=AlertState.RESOLVED, resolved_at=timezone.now()
        )
    )
