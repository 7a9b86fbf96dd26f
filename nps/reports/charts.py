"""Charts as inline SVG, drawn on the server: the report pages and PDFs need no JavaScript.

Two shapes: horizontal bars (a value per label, optionally with an interval whisker)
and a line with its 95% interval as a band. Text uses the page's font stack (Noto Sans
CJK SC for Chinese). Colours are the constants below; the PDF test looks for them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

LINE = "#1f6feb"  # NPS line
BAND = "#b6d4fe"  # its 95% interval
NEGATIVE = "#d1495b"  # detractors' reasons, negative NPS bars
POSITIVE = "#2a9d8f"  # promoters' reasons (drivers), positive NPS bars
AXIS = "#8a8f98"
TEXT = "#1f2328"
FONT = "'Noto Sans CJK SC', 'Noto Sans', 'Microsoft YaHei', sans-serif"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    low: float | None = None
    high: float | None = None
    note: str = ""  # shown after the value, e.g. "n=120"


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def bars(
    items: Sequence[Bar],
    *,
    lo: float = 0,
    hi: float | None = None,
    colour: str | None = None,
    width: int = 640,
    unit: str = "",
) -> SafeString:
    """Horizontal bars from `lo` to `hi` (default: the largest value); a bar's colour is
    `colour`, or by sign (POSITIVE / NEGATIVE) on a scale that crosses 0."""
    if not items:
        return mark_safe("")
    top = hi if hi is not None else max(max(b.value for b in items), 1)
    row, label_w, right = 26, 170, 90
    plot = width - label_w - right
    height = row * len(items) + 8

    def x(v: float) -> float:
        return label_w + plot * (min(max(v, lo), top) - lo) / (top - lo)

    zero = x(0 if lo < 0 else lo)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="{escape(FONT)}" font-size="12">'
    ]
    for i, bar in enumerate(items):
        y = 4 + i * row
        fill = colour or (POSITIVE if bar.value >= 0 else NEGATIVE)
        left, right_x = sorted((zero, x(bar.value)))
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" fill="{TEXT}">'
            f"{escape(bar.label[:24])}</text>"
            f'<rect x="{left:.1f}" y="{y + 4}" width="{max(right_x - left, 1):.1f}" height="16" '
            f'fill="{fill}"/>'
        )
        if bar.low is not None and bar.high is not None:
            a, b, mid = x(bar.low), x(bar.high), y + 12
            parts.append(
                f'<path d="M{a:.1f} {mid}H{b:.1f}M{a:.1f} {mid - 5}V{mid + 5}M{b:.1f} {mid - 5}'
                f'V{mid + 5}" stroke="{TEXT}" stroke-width="1"/>'
            )
        note = f" {escape(bar.note)}" if bar.note else ""
        parts.append(
            f'<text x="{label_w + plot + 6}" y="{y + 16}" fill="{TEXT}">'
            f"{_fmt(bar.value)}{escape(unit)}{note}</text>"
        )
    parts.append(
        f'<line x1="{zero:.1f}" y1="0" x2="{zero:.1f}" y2="{height}" stroke="{AXIS}"/></svg>'
    )
    return mark_safe("".join(parts))  # noqa: S308 (every text is escaped above)


@dataclass(frozen=True)
class LinePoint:
    label: str
    value: float | None  # None: no answers, a gap
    low: float | None = None
    high: float | None = None


def line(points: Sequence[LinePoint], *, width: int = 640, height: int = 220) -> SafeString:
    """NPS over time (-100..100 zoomed to the data) with the 95% interval as a band."""
    known = [p for p in points if p.value is not None]
    if not known:
        return mark_safe("")
    values = [v for p in known for v in (p.value, p.low, p.high) if v is not None]
    lo = max(-100.0, (min(values) // 10) * 10 - 10)
    hi = min(100.0, (max(values) // 10) * 10 + 10)
    left, right, top, bottom = 44, 12, 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(points) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + i * step, top + plot_h * (hi - v) / (hi - lo)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="{escape(FONT)}" font-size="11">'
    ]
    for tick in range(int(lo), int(hi) + 1, 20 if hi - lo > 80 else 10):
        _, y = xy(0, tick)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e6e8eb"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{AXIS}">{tick}</text>'
        )
    indexed = [(i, p) for i, p in enumerate(points) if p.value is not None]
    banded = [(i, p) for i, p in indexed if p.low is not None and p.high is not None]
    if banded:
        upper = [xy(i, p.high) for i, p in banded]  # type: ignore[arg-type]
        lower = [xy(i, p.low) for i, p in reversed(banded)]  # type: ignore[arg-type]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in upper + lower)
        parts.append(f'<polygon points="{path}" fill="{BAND}" stroke="none"/>')
    coords = [xy(i, p.value) for i, p in indexed]  # type: ignore[arg-type]
    parts.append(
        f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in coords)}" fill="none" '
        f'stroke="{LINE}" stroke-width="2.5"/>'
    )
    parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE}"/>' for x, y in coords)
    every = max(1, len(points) // 8)
    for i, p in enumerate(points):
        if i % every == 0 or i == len(points) - 1:
            x, _ = xy(i, lo)
            parts.append(
                f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="{AXIS}">'
                f"{escape(p.label)}</text>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text is escaped above)
