"""The page's markup written in Python (once per figure, not by a template per table row or
per select option) is the markup the templates it replaced gave, in both languages; and
the filter lists are read from the rollups once per refresh."""

import time
from datetime import timedelta
from typing import Any

import pytest
from django import forms
from django.template import Context, Template
from django.utils import translation

from nps.dashboard.figures import BreakdownRow, nps_html
from nps.dashboard.forms import QuickSelect, observed_values
from nps.reporting import queries
from nps.reporting.contract import Counts, Filters
from nps.reporting.refresh import rollups_refresh_day
from nps.reporting.stats import estimate
from tests.dashboard.builders import AT, DAY, Data
from tests.reporting.test_rollups import response_create

# The templates as they were: the NPS include (dashboard/_nps.html) and a breakdown row's
# whisker.
NPS_TEMPLATE = Template(
    '{% load i18n %}{% if e.sufficient %}<span class="nps{% if big %} big{% endif %}">'
    '{{ e.nps|floatformat:0 }}</span> <span class="moe">± {{ e.moe|floatformat:0 }}</span>'
    '{% else %}<span class="insufficient">{% blocktranslate with n=e.n minimum=e.minimum %}'
    "Needs at least {{ minimum }} answers; {{ n }} so far{% endblocktranslate %}</span>{% endif %}"
)
WHISKER_TEMPLATE = Template(
    '{% if row.estimate.sufficient %}<svg viewBox="0 0 100 10" preserveAspectRatio="none" '
    'role="img" aria-label="{{ row.estimate.nps|floatformat:0 }} ± '
    '{{ row.estimate.moe|floatformat:0 }}"><line x1="50" x2="50" y1="0" y2="10" class="axis"/>'
    '<line x1="{{ row.whisker.low }}" x2="{{ row.whisker.high }}" y1="5" y2="5" class="range"/>'
    '<rect x="{{ row.whisker.mid }}" y="1.5" width="1.2" height="7" class="point"/></svg>'
    "{% endif %}"
)
COUNTS = [
    Counts(18, 6, 6),  # 40 at the minimum sample
    Counts(2, 2, 6),  # too few answers
    Counts(0, 0, 0),  # none
    Counts(1, 0, 1_000),  # about -100: the whisker's left edge
    Counts(333, 1, 0),  # +100
    Counts(7, 31, 5),  # 4.65...: rounds half up
    Counts(11, 9, 13),  # -6.06...
]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("counts", COUNTS, ids=str)
@pytest.mark.parametrize("big", [False, True])
def test_an_nps_is_written_as_the_template_wrote_it(
    counts: Counts, big: bool, language: str
) -> None:
    e = estimate(counts)
    with translation.override(language):
        expected = NPS_TEMPLATE.render(Context({"e": e, "big": big}))
        assert nps_html(e, big=big) == expected
    if not e.sufficient and language == "zh-hans":
        assert "至少需要" in expected  # the translation was used on both sides


@pytest.mark.parametrize("counts", COUNTS, ids=str)
def test_a_breakdown_rows_whisker_is_drawn_as_the_template_drew_it(counts: Counts) -> None:
    row = BreakdownRow("E1", "E1", estimate(counts))
    expected = WHISKER_TEMPLATE.render(Context({"row": row}))
    assert row.whisker_svg == expected
    assert ("<svg" in expected) == row.estimate.sufficient


class Choices(forms.Form):
    plain = forms.ChoiceField(required=False)
    quick = forms.ChoiceField(required=False, widget=QuickSelect)
    plain_int = forms.TypedChoiceField(coerce=int, help_text="Help & more")
    quick_int = forms.TypedChoiceField(coerce=int, help_text="Help & more", widget=QuickSelect)


CHOICES = [
    ("", "All"),
    ("A&B", "A & B <b>"),
    ('q"uote', 'It\'s "quoted"'),
    ("深圳", "深圳 · 南山"),
    ("E11000", "E11000"),
]
GROUPED = [("", "All"), ("North", [("1", "Lena's"), ("2", "Two")]), ("3", "Three")]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("chosen", ["", "A&B", "深圳", "missing"])
def test_a_quick_select_is_the_markup_of_djangos_select(chosen: str, language: str) -> None:
    form = Choices({"plain": chosen, "quick": chosen, "plain_int": "2", "quick_int": "2"})
    for name in ("plain", "quick"):
        form.fields[name].choices = CHOICES  # type: ignore[attr-defined]
    for name in ("plain_int", "quick_int"):
        form.fields[name].choices = GROUPED  # type: ignore[attr-defined]
    form.is_valid()
    with translation.override(language):
        for plain, quick in (("plain", "quick"), ("plain_int", "quick_int")):
            expected = str(form[plain]).replace(f"id_{plain}", "id_x").replace(plain, "x")
            written = str(form[quick]).replace(f"id_{quick}", "id_x").replace(quick, "x")
            assert written == expected
    assert "selected" in str(form["quick"]) or chosen == "missing"
    assert "&lt;b&gt;" in str(form["quick"])  # labels escaped
    assert "<optgroup" in str(form["quick_int"])


# ---------------------------------------------------------------- the filter lists' cache


def test_the_filter_lists_are_read_once_per_rollup_refresh(
    data: Data, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        first = observed_values(DAY, DAY, None)
    with django_assert_num_queries(0):  # the same period again: from the cache
        assert observed_values(DAY, DAY, None) == first
    with django_assert_num_queries(1):  # another team scope is another list
        observed_values(DAY, DAY, (data.team_id("South"),))
    assert "E77" not in first["agent"]

    response_create(at=AT + timedelta(hours=1), score=9, region="BJ", tier="B", staff_id="E77")
    assert "E77" not in observed_values(DAY, DAY, None)["agent"]  # until the rollups say so
    rollups_refresh_day(day=DAY)

    with django_assert_num_queries(1):
        assert "E77" in observed_values(DAY, DAY, None)["agent"]


def test_the_filter_lists_expire_after_a_refresh_interval_whatever_the_cache_saw(
    data: Data, django_assert_num_queries: Any, settings: Any
) -> None:
    """A web process with the per-process cache never sees the worker's refresh."""
    settings.NPS_ROLLUP_REFRESH_SECONDS = 0.2
    observed_values(DAY, DAY, None)
    with django_assert_num_queries(0):
        observed_values(DAY, DAY, None)
    time.sleep(0.3)
    with django_assert_num_queries(1):
        observed_values(DAY, DAY, None)


def test_a_period_too_long_to_list_its_days_reads_the_same_figures(data: Data) -> None:
    """Reads list the period's days (queries.rollup_rows) up to LISTED_DAYS_MOST, a longer
    period is a range: the same rows either way (nothing before the day before DAY)."""
    short = Filters(DAY - timedelta(days=1), DAY)
    listed = Filters(DAY - timedelta(days=queries.LISTED_DAYS_MOST - 1), DAY)
    ranged = Filters(DAY - timedelta(days=queries.LISTED_DAYS_MOST + 2000), DAY)
    expected = queries.nps_breakdowns(short)
    assert expected["agent"]  # something to compare
    assert queries.nps_breakdowns(listed) == expected
    assert queries.nps_breakdowns(ranged) == expected
    assert queries.nps_counts(ranged) == queries.nps_counts(short)
