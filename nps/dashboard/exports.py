"""CSV downloads: `?export=<table>` on the dashboard URL returns that table with its filters.

Column names are stable English identifiers (for spreadsheets and scripts); labels follow
the user's language. An NPS below the minimum sample is left empty, as on the page.
Figures are handed to the writer as numbers (a negative NPS stays a number in a
spreadsheet); every text cell is neutralised there (`surveys/spreadsheets.py`).
"""

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from django.http import HttpResponse
from django.utils.translation import get_language

from nps.dashboard import figures
from nps.dashboard.forms import Period
from nps.reporting.contract import DIMENSIONS
from nps.reporting.stats import Estimate
from surveys.spreadsheets import csv_download

TABLES = (
    "headline",
    "trend",
    *(f"breakdown_{d}" for d in DIMENSIONS),
    "funnel",
    "closed_loop",
    "costs",
    "reasons",
    "verbatims",
)
ESTIMATE_HEADER = ["n", "promoters", "passives", "detractors", "nps", "moe", "sufficient"]
Rows = tuple[list[str], Iterable[list[object]]]


def _number(value: float | None) -> float | str:
    return "" if value is None else round(value, 1)


def _estimate(e: Estimate) -> list[object]:
    c = e.counts
    shown = e.sufficient
    nps = _number(e.nps) if shown else ""
    moe = _number(e.moe) if shown else ""
    return [e.n, c.promoters, c.passives, c.detractors, nps, moe, "yes" if shown else "no"]


def headline_rows(period: Period) -> Rows:
    h = figures.headline(period)
    header = ["period", "start", "end", *ESTIMATE_HEADER, "change", "change_moe", "significant"]
    diff: list[object] = ["", "", ""]
    if h.comparable and h.change:
        significant = "yes" if h.change.significant else "no"
        diff = [_number(h.change.points), _number(h.change.moe), significant]
    f, p = period.filters, period.previous
    rows = [
        ["current", f.start, f.end, *_estimate(h.current), *diff],
        ["previous", p.start, p.end, *_estimate(h.previous), "", "", ""],
    ]
    return header, rows


def trend_rows(period: Period) -> Rows:
    header = [figures.granularity(period), *ESTIMATE_HEADER]
    return header, ([day, *_estimate(e)] for day, e in figures.trend(period))


def breakdown_rows(period: Period, dimension: str, sort: str) -> Rows:
    rows = figures.breakdown(period.filters, dimension, sort=sort)
    return [dimension, "label", *ESTIMATE_HEADER], (
        [r.value, r.label, *_estimate(r.estimate)] for r in rows
    )


def funnel_rows(period: Period) -> Rows:
    table = figures.funnel(period.filters)
    rows: list[list[object]] = [
        [s.key, s.label, s.count, _number(s.of_interactions)] for s in table.steps
    ]
    rows.append(["response_rate", "", "", _number(table.response_rate)])
    rows += [[f"suppressed_{code}", label, n, ""] for code, label, n in table.suppressed]
    return ["step", "label", "count", "percent"], rows


def closed_loop_rows(period: Period) -> Rows:
    rows = figures.closed_loop(period.filters)
    return ["measure", "label", "value"], (
        [r.key, r.label, "" if r.value is None else round(r.value, 1)] for r in rows
    )


def costs_rows(period: Period) -> Rows:
    """Counts, and costs to four places (a cost in one currency per row; empty: no figure)."""
    rows = figures.costs(period.filters)
    return ["measure", "label", "value", "currency"], (
        [r.key, r.label, _amount(r.value), r.currency] for r in rows
    )


def _amount(value: int | Decimal | None) -> int | Decimal | str:
    """A count as it is; a cost to four places, the precision prices are set in."""
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return "" if value is None else value


def reasons_rows(period: Period) -> Rows:
    rows = figures.reasons(period.filters, language=get_language() or "en")
    return ["reason", "label", "detractors", "percent", "cumulative_percent"], (
        [r.code, r.label, r.detractors, _number(r.share), _number(r.cumulative)] for r in rows
    )


VERBATIMS_CSV = 1000  # the page shows the latest few; the download goes further back


def verbatims_rows(period: Period, reason: str) -> Rows:
    rows = figures.verbatims(period.filters, reason=reason, limit=VERBATIMS_CSV)
    header = ["answered_at", "score", "touchpoint", "reasons", "comment", "case_id"]
    return header, (
        [
            v.answered_at.isoformat(),
            v.response.score,
            v.touchpoint,
            v.reasons,
            v.response.comment,
            v.case_id or "",
        ]
        for v in rows
    )


def export_rows(table: str, period: Period, *, sort: str, reason: str) -> Rows:
    if table.startswith("breakdown_"):
        return breakdown_rows(period, table.removeprefix("breakdown_"), sort)
    if table == "verbatims":
        return verbatims_rows(period, reason)
    return {
        "headline": headline_rows,
        "trend": trend_rows,
        "funnel": funnel_rows,
        "closed_loop": closed_loop_rows,
        "costs": costs_rows,
        "reasons": reasons_rows,
    }[table](period)


def csv_response(table: str, period: Period, *, sort: str, reason: str) -> HttpResponse:
    """The table as a CSV download named after it and the period."""
    header, rows = export_rows(table, period, sort=sort, reason=reason)
    f = period.filters
    return csv_download(f"nps-{table}-{f.start:%Y%m%d}-{f.end:%Y%m%d}.csv", header, rows)
