"""A monthly report printed by headless Chromium, checked as images: every page rasterised.

With NPS_SAVE_REPORT_EXAMPLE=1 the test also writes the README's example:
docs/examples/monthly-report.pdf and docs/screenshots/report-monthly.png (page 1).
"""

import os
import struct
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nps.models import ReportCadence
from nps.reports import charts
from nps.reports.periods import Period
from nps.reports.schedule import report_generate
from tests.browser.conftest import CHROMIUM
from tests.nps.report_world import realistic_month

pytestmark = pytest.mark.browser
A4_POINTS = (595, 842)  # 210 x 297 mm
ROOT = Path(__file__).resolve().parents[2]


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def raster(page: Any) -> np.ndarray:
    """The page as an RGB array (rows, columns, 3) at 108 dpi."""
    bitmap = page.render(scale=1.5, rev_byteorder=True)
    return bitmap.to_numpy()[:, :, :3].copy()


def has_colour(image: np.ndarray, colour: str, *, tolerance: int = 12, minimum: int = 40) -> bool:
    """At least `minimum` pixels within `tolerance` of `colour` on each channel."""
    target = np.array(hex_rgb(colour), dtype=np.int16)
    close = np.all(np.abs(image.astype(np.int16) - target) <= tolerance, axis=2)
    return int(close.sum()) >= minimum


def dark_share(image: np.ndarray) -> float:
    """The share of dark pixels (text, lines): luminance under 100 of 255."""
    luminance = image @ np.array([0.299, 0.587, 0.114])
    return float((luminance < 100).mean())


def png(image: np.ndarray) -> bytes:
    """A minimal PNG encoder (RGB, 8 bits): the example screenshot without Pillow."""
    height, width, _ = image.shape
    rows = b"".join(b"\x00" + image[y].astype(np.uint8).tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def chromium_binary(settings: Any) -> None:
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk"
        if os.environ.get("NPS_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    settings.NPS_CHROMIUM = str(CHROMIUM)


@pytest.mark.django_db
@pytest.mark.usefixtures("chromium_binary")
def test_the_monthly_report_prints_as_a4_pages_with_charts_and_chinese_text() -> None:
    import pypdfium2 as pdfium

    units = realistic_month()
    march = Period(ReportCadence.MONTHLY, date(2026, 3, 1), date(2026, 3, 31))
    report = report_generate(unit=units["top"], period=march, language="zh-hans")
    assert report.pdf is not None
    assert bytes(report.pdf).startswith(b"%PDF")
    document = pdfium.PdfDocument(bytes(report.pdf))
    assert 2 <= len(document) <= 6
    images = []
    for page in document:
        width, height = page.get_size()
        assert (round(width), round(height)) == A4_POINTS
        image = raster(page)
        # Not blank: some ink on every page.
        assert dark_share(image) > 0.002
        images.append(image)
    first = images[0]
    # The title (Chinese: 月度质量报告 · 西藏公司 · 2026-03) is drawn in its band at the top.
    assert dark_share(first[: first.shape[0] // 12]) > 0.01
    assert "西藏公司" in document[0].get_textpage().get_text_range()
    # The charts: the NPS line and its band on page 1, the reasons' bars (red) and the
    # drivers' bars (green) somewhere.
    assert has_colour(first, charts.LINE)
    assert has_colour(first, charts.BAND)
    assert any(has_colour(image, charts.NEGATIVE) for image in images)
    assert any(has_colour(image, charts.POSITIVE) for image in images)
    if os.environ.get("NPS_SAVE_REPORT_EXAMPLE") == "1":
        (ROOT / "docs/examples").mkdir(parents=True, exist_ok=True)
        (ROOT / "docs/screenshots").mkdir(parents=True, exist_ok=True)
        (ROOT / "docs/examples/monthly-report.pdf").write_bytes(bytes(report.pdf))
        (ROOT / "docs/screenshots/report-monthly.png").write_bytes(png(first))
