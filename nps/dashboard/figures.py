"""Every table of the dashboard, from nps.reporting.queries into rows ready to show or export.

One function per table; each reads only what it shows, so a CSV export of one table
costs only that table's queries.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from followups.models import Team
from nps.dashboard.forms import Period
from nps.reporting import queries
from nps.reporting.contract import DIMENSIONS, ClosedLoop, Counts, Filters, SendCosts
from nps.reporting.days import reporting_zone
from nps.reporting.stats import Change, Estimate, change, estimate, share
from surveys.models import Response, SuppressReason, Tier, Touchpoint

DIMENSION_LABELS = {
    "touchpoint": gettext_lazy("Touchpoint"),
    "channel": gettext_lazy("Channel"),
    "business_type": gettext_lazy("Business type"),
    "region": gettext_lazy("Region"),
    "tier": gettext_lazy("Value tier"),
    "team": gettext_lazy("Team"),
    "agent": gettext_lazy("Service staff"),
}
SORTS = ("label", "-label", "n", "-n", "nps", "-nps", "moe", "-moe")
DEFAULT_SORT = "-n"


@dataclass(frozen=True)
class Headline:
    current: Estimate
    previous: Estimate
    change: Change | None

    @property
    def comparable(self) -> bool:
        return self.change is not None and self.current.sufficient and self.previous.sufficient


def _added(a: Counts, b: Counts) -> Counts:
    return Counts(a.promoters + b.promoters, a.passives + b.passives, a.detractors + b.detractors)


@dataclass(frozen=True)
class NpsDays:
    """The counts per day of the period and of the one before: the headline and the trend,
    from one read of the NPS rollup."""

    period: Period
    days: list[tuple[date, Counts]]

    def total(self, start: date, end: date) -> Counts:
        found = Counts()
        for day, counts in self.days:
            if start <= day <= end:
                found = _added(found, counts)
        return found

    def headline(self) -> Headline:
        f, p = self.period.filters, self.period.previous
        now, before = self.total(f.start, f.end), self.total(p.start, p.end)
        return Headline(estimate(now), estimate(before), change(now, before))

    def trend(self) -> list[tuple[date, Estimate]]:
        """Per day, or per week labelled by its Monday; empty periods left out."""
        f, weekly = self.period.filters, granularity(self.period) == "week"
        periods: dict[date, Counts] = {}
        for day, counts in self.days:
            if f.start <= day <= f.end:
                key = day - timedelta(days=day.weekday()) if weekly else day
                periods[key] = _added(periods.get(key, Counts()), counts)
        return [(key, estimate(counts)) for key, counts in sorted(periods.items())]


def nps_days(period: Period) -> NpsDays:
    """One query: both periods' days (the previous period ends the day before this one)."""
    f, p = period.filters, period.previous
    both = replace(f, start=min(p.start, f.start), end=max(p.end, f.end))
    return NpsDays(period, queries.nps_trend(both, granularity="day"))


def headline(period: Period) -> Headline:
    return nps_days(period).headline()


def granularity(period: Period) -> str:
    return "day" if period.days <= settings.NPS_DASHBOARD_DAILY_TREND_DAYS else "week"


def trend(period: Period) -> list[tuple[date, Estimate]]:
    return nps_days(period).trend()


def nps_html(e: Estimate, *, big: bool = False) -> SafeString:
    """An NPS and its margin as the page shows it, or why there is none (too few answers).

    Written here, once per figure, rather than by a template include per table row."""
    if not e.sufficient:
        # As {% blocktranslate %} does: the translation as it is, the values escaped.
        values = {"minimum": e.minimum, "n": e.n}
        text = _("Needs at least %(minimum)s answers; %(n)s so far") % {
            name: conditional_escape(localize(value)) for name, value in values.items()
        }
        return format_html('<span class="insufficient">{}</span>', mark_safe(text))  # noqa: S308
    return format_html(
        '<span class="nps{}">{}</span> <span class="moe">± {}</span>',
        " big" if big else "",
        floatformat(e.nps, 0),
        floatformat(e.moe, 0),
    )


@dataclass(frozen=True)
class BreakdownRow:
    value: str
    label: str
    estimate: Estimate

    @property
    def whisker(self) -> dict[str, float]:
        """Where NPS and its interval fall on a -100..100 axis, as percent of the width."""
        e = self.estimate

        def at(value: float) -> float:
            return round((value + 100) / 2, 2)

        return {"low": at(e.low), "mid": at(e.nps or 0.0), "high": at(e.high)}

    @cached_property
    def nps_html(self) -> SafeString:
        return nps_html(self.estimate)

    @cached_property
    def whisker_svg(self) -> SafeString:
        """The NPS and its interval drawn on a -100..100 axis; nothing without a figure."""
        e = self.estimate
        if not e.sufficient:
            return SafeString("")
        at = {name: localize(value) for name, value in self.whisker.items()}
        return format_html(
            '<svg viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="{} ± {}">'
            '<line x1="50" x2="50" y1="0" y2="10" class="axis"/>'
            '<line x1="{}" x2="{}" y1="5" y2="5" class="range"/>'
            '<rect x="{}" y="1.5" width="1.2" height="7" class="point"/></svg>',
            floatformat(e.nps, 0),
            floatformat(e.moe, 0),
            at["low"],
            at["high"],
            at["mid"],
        )

    def sort_key(self, field: str) -> tuple:
        e = self.estimate
        if field == "label":
            return (self.label.casefold(),)
        if field == "n":
            return (e.n,)
        # Rows without a figure sort after those with one, in either direction.
        return (e.sufficient, (e.nps or 0.0) if field == "nps" else e.moe)


def _value_labels(dimension: str, values: list[str]) -> dict[str, str]:
    if dimension == "touchpoint":
        return {v: str(Touchpoint(v).label) for v in values if v in Touchpoint.values}
    if dimension == "tier":
        return {v: str(Tier(v).label) for v in values if v in Tier.values}
    if dimension == "team":
        ids = [int(v) for v in values if v.isdigit()]
        return {str(t.pk): t.name for t in Team.objects.filter(pk__in=ids)}
    return {}


def breakdown(f: Filters, dimension: str, *, sort: str = DEFAULT_SORT) -> list[BreakdownRow]:
    return _breakdown_rows(dimension, queries.nps_breakdown(f, dimension=dimension), sort)


def _breakdown_rows(
    dimension: str, found: list[tuple[str, Counts]], sort: str
) -> list[BreakdownRow]:
    labels = _value_labels(dimension, [value for value, _counts in found])
    rows = [
        BreakdownRow(value, labels.get(value) or value or _("(none)"), estimate(counts))
        for value, counts in found
    ]
    field = sort.lstrip("-")
    descending = sort.startswith("-")
    rows.sort(key=lambda row: row.sort_key(field), reverse=descending)
    if field in ("nps", "moe") and not descending:  # keep rows without a figure last
        rows.sort(key=lambda row: not row.estimate.sufficient)
    return rows


@dataclass(frozen=True)
class Breakdown:
    """One breakdown table as the page shows it: the first `shown` rows in the chosen order
    (2,000 agents make no readable table; the CSV download has every row)."""

    dimension: str
    label: str
    rows: list[BreakdownRow]
    total: int


def breakdowns(f: Filters, *, sort: str = DEFAULT_SORT) -> list[Breakdown]:
    shown = settings.NPS_DASHBOARD_BREAKDOWN_ROWS
    tables = []
    for d, found in queries.nps_breakdowns(f, dimensions=DIMENSIONS).items():
        rows = _breakdown_rows(d, found, sort)
        tables.append(Breakdown(d, str(DIMENSION_LABELS[d]), rows[:shown], len(rows)))
    return tables


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    count: int
    of_interactions: float | None


@dataclass(frozen=True)
class FunnelTable:
    steps: list[Step]
    response_rate: float | None  # responded / delivered
    suppressed: list[tuple[str, str, int]]  # code, label, count


def funnel(f: Filters) -> FunnelTable:
    got = queries.funnel(f)
    counts = [
        ("interactions", _("Interactions"), got.interactions),
        ("sent", _("Surveys sent"), got.sent),
        ("delivered", _("Delivered"), got.delivered),
        ("responded", _("Responded"), got.responded),
    ]
    labels = dict(SuppressReason.choices)
    return FunnelTable(
        steps=[Step(k, label, n, share(n, got.interactions)) for k, label, n in counts],
        response_rate=share(got.responded, got.delivered),
        suppressed=[(code, str(labels.get(code, code)), n) for code, n in got.suppressed.items()],
    )


def duration(minutes: float | None) -> str:
    if minutes is None:
        return "—"
    if minutes < 120:
        return _("%(n)d min") % {"n": round(minutes)}
    if minutes < 2880:
        return _("%(n).1f h") % {"n": minutes / 60}
    return _("%(n).1f days") % {"n": minutes / 1440}


@dataclass(frozen=True)
class LoopRow:
    key: str
    label: str
    value: int | float | None
    text: str


def _count_and_share(n: int, whole: int, of: str) -> str:
    """The count and its share, e.g. 6 (50% of opened): `of` is a translated format."""
    pct = share(n, whole)
    return f"{n}" if pct is None else of % {"count": n, "share": pct}


def _in_sla_text(c: ClosedLoop) -> str:
    """First contacts within SLA as a share of the cases due: a case not reached whose first
    contact is not yet due (or on hold) cannot have missed it yet, so it is left out."""
    waiting = c.opened - c.first_contact_due
    if not c.first_contact_due:
        return _("No case due yet (%(waiting)d not yet due)") % {"waiting": waiting}
    return _("%(count)d of %(due)d cases due (%(share).0f%%); %(waiting)d not yet due") % {
        "count": c.first_contact_in_sla,
        "due": c.first_contact_due,
        "share": share(c.first_contact_in_sla, c.first_contact_due),
        "waiting": waiting,
    }


def closed_loop(f: Filters, *, loop: ClosedLoop | None = None) -> list[LoopRow]:
    """The closed loop's rows; `loop` when the caller read it already."""
    c: ClosedLoop = queries.closed_loop(f) if loop is None else loop
    in_sla = share(c.first_contact_in_sla, c.first_contact_due)
    recovery = share(c.recovered, c.verified)
    of_opened = _("%(count)d (%(share).0f%% of opened)")
    return [
        LoopRow("opened", _("Cases opened"), c.opened, str(c.opened)),
        LoopRow(
            "first_attempted",
            _("Cases with a contact attempt"),
            c.first_attempted,
            _count_and_share(c.first_attempted, c.opened, of_opened),
        ),
        LoopRow(
            "median_minutes_to_first_attempt",
            _("Median time to first attempt"),
            c.median_minutes_to_first_attempt,
            duration(c.median_minutes_to_first_attempt),
        ),
        LoopRow(
            "p90_minutes_to_first_attempt",
            _("90th percentile time to first attempt"),
            c.p90_minutes_to_first_attempt,
            duration(c.p90_minutes_to_first_attempt),
        ),
        LoopRow(
            "first_contacted",
            _("Customers reached (first contact)"),
            c.first_contacted,
            _count_and_share(c.first_contacted, c.opened, of_opened),
        ),
        LoopRow(
            "first_contact_in_sla_pct",
            _("First contact (customer reached) within SLA, of the cases due"),
            in_sla,
            _in_sla_text(c),
        ),
        LoopRow(
            "median_minutes_to_first_contact",
            _("Median time to first reach"),
            c.median_minutes_to_first_contact,
            duration(c.median_minutes_to_first_contact),
        ),
        LoopRow(
            "p90_minutes_to_first_contact",
            _("90th percentile time to first reach"),
            c.p90_minutes_to_first_contact,
            duration(c.p90_minutes_to_first_contact),
        ),
        LoopRow(
            "resolved", _("Resolved"), c.resolved, _count_and_share(c.resolved, c.opened, of_opened)
        ),
        LoopRow(
            "unreachable",
            _("Unreachable"),
            c.unreachable,
            _count_and_share(c.unreachable, c.opened, of_opened),
        ),
        LoopRow("open_now", _("Open now"), c.open_now, str(c.open_now)),
        LoopRow("overdue_now", _("Overdue now"), c.overdue_now, str(c.overdue_now)),
        LoopRow(
            "unrouted_now",
            _("Unrouted cases (no team takes them)"),
            c.unrouted_now,
            str(c.unrouted_now),
        ),
        LoopRow(
            "put_on_hold",
            _("Cases put on hold (waiting for the customer)"),
            c.put_on_hold,
            _count_and_share(c.put_on_hold, c.opened, of_opened),
        ),
        LoopRow(
            "mean_minutes_on_hold",
            _("Average time on hold, per case put on hold"),
            c.mean_minutes_on_hold,
            duration(c.mean_minutes_on_hold),
        ),
        LoopRow("on_hold_now", _("On hold now"), c.on_hold_now, str(c.on_hold_now)),
        LoopRow(
            "recovery_rate_pct",
            _("Recovered (verification survey 7+)"),
            recovery,
            _count_and_share(c.recovered, c.verified, _("%(count)d (%(share).0f%% of verified)")),
        ),
    ]


@dataclass(frozen=True)
class CostRow:
    key: str
    label: str
    value: int | Decimal | None  # None: no figure (no price set, nothing to divide by)
    currency: str  # of a cost; "" for a count
    text: str


def money(amount: Decimal, currency: str) -> str:
    """An amount as staff read it: to the cent (the CSV keeps four places), and its currency."""
    cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return _("%(amount)s %(currency)s") % {"amount": cents, "currency": currency}


def _no_cost(c: SendCosts) -> str:
    """Why there is no cost: nothing was sent, or nothing sent had a price."""
    return _("No SMS sent") if not c.sms else _("No price set")


def _per(key: str, label: str, c: SendCosts, count: int, none_yet: str) -> list[CostRow]:
    """The cost divided by `count`, one row per currency; honest when it cannot be said."""
    if not c.cost:
        return [CostRow(key, label, None, "", _no_cost(c))]
    if not count:
        return [CostRow(key, label, None, "", none_yet)]
    return [
        CostRow(key, label, total / count, currency, money(total / count, currency))
        for currency, total in c.cost.items()
    ]


def costs(f: Filters, *, answers: int | None = None, recovered: int | None = None) -> list[CostRow]:
    """What the SMS about the period's interactions cost, per answer and per recovered
    detractor (nps.reporting.queries.send_costs); "No price set" when no gateway has one.
    `answers` and `recovered` when the caller read them already (the funnel, the loop)."""
    c = queries.send_costs(f, answers=answers, recovered=recovered)
    totals = [
        CostRow("cost", _("SMS cost"), total, currency, money(total, currency))
        for currency, total in c.cost.items()
    ] or [CostRow("cost", _("SMS cost"), None, "", _no_cost(c))]
    rows = [
        CostRow("sms", _("SMS sent (surveys and conversation)"), c.sms, "", str(c.sms)),
        CostRow("segments", _("SMS segments billed"), c.segments, "", str(c.segments)),
        *totals,
        *_per("cost_per_answer", _("Cost per answer"), c, c.answers, _("No answers yet")),
        *_per(
            "cost_per_recovered",
            _("Cost per recovered detractor"),
            c,
            c.recovered,
            _("No detractor recovered yet"),
        ),
    ]
    if c.unpriced:
        text = _("%(count)d (no price set for their gateway: not in the cost)")
        rows.append(
            CostRow(
                "sms_unpriced",
                _("SMS sent without a price"),
                c.unpriced,
                "",
                text % {"count": c.unpriced},
            )
        )
    return rows


@dataclass(frozen=True)
class ParetoRow:
    code: str
    label: str
    detractors: int
    share: float
    cumulative: float


def reasons(f: Filters, *, language: str) -> list[ParetoRow]:
    found = sorted(queries.reasons_pareto(f), key=lambda r: (-r.detractors, r.code))
    total, running, rows = sum(r.detractors for r in found), 0, []
    for r in found:
        running += r.detractors
        label = r.name_zh if language.startswith("zh") and r.name_zh else r.name_en
        pct, cumulative = share(r.detractors, total) or 0.0, share(running, total) or 0.0
        rows.append(ParetoRow(r.code, label or r.code, r.detractors, pct, cumulative))
    return rows


@dataclass(frozen=True)
class Verbatim:
    response: Response
    touchpoint: str
    reasons: str
    case_id: int | None

    @property
    def answered_at(self) -> datetime:
        """When the answer came, in the reporting time zone (the zone of the period's days)."""
        return timezone.localtime(self.response.created_at, reporting_zone())


def _case_id(response: Response) -> int | None:
    try:
        return response.case.pk
    except ObjectDoesNotExist:
        return None


def verbatims(f: Filters, *, reason: str = "", limit: int | None = None) -> list[Verbatim]:
    """The latest detractor comments: NPS_DASHBOARD_VERBATIMS on the page, or `limit`."""
    limit = settings.NPS_DASHBOARD_VERBATIMS if limit is None else limit
    rows = queries.verbatims(f, reason=reason, limit=limit)
    return [
        Verbatim(
            response=r,
            touchpoint=r.interaction.get_touchpoint_display(),
            reasons=", ".join(c.label() for c in r.reasons.all()),
            case_id=_case_id(r),
        )
        for r in rows
    ]
