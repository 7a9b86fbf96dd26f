"""A rebuild recomputes consecutive days with little data together, in one span: the rows
must be exactly those of the same days recomputed one at a time, each row on its own
local day, and a busy day must stay alone."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nps.models import CaseDaily, DetractorComment, FunnelDaily, NpsDaily, ReasonDaily, SendDaily
from nps.reporting import rebuild
from nps.reporting.days import days_between, local_today
from nps.reporting.grains import FULL
from nps.reporting.rebuild import day_spans, rollups_rebuild, rollups_refresh_days
from nps.reporting.refresh import rollups_refresh_day, rollups_refresh_span
from tests.reporting.test_rollups import local_day, response_create

TABLES = (NpsDaily, ReasonDaily, FunnelDaily, CaseDaily, SendDaily, DetractorComment)


def rows_of(first: date, last: date) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every row of every rollup table on the days first..last, without its id."""
    found = {}
    for model in TABLES:
        fields = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
        rows = model.objects.filter(day__gte=first, day__lte=last).values_list(*fields)
        found[model.__name__] = Counter(rows)
    return found


@pytest.mark.django_db
def test_the_demos_days_in_one_span_equal_the_same_days_one_at_a_time() -> None:
    """seed_demo's rebuild takes its 90 small days in few spans; the last twelve days
    recomputed one at a time must give the very same rows in all six tables (counts,
    reasons, funnel, cases, sends with their cost, the verbatims)."""
    call_command("seed_demo", verbosity=0)
    last = local_today()
    first = last - timedelta(days=11)
    spanned = rows_of(first, last)
    assert all(spanned.values()), "the demo's last days have rows in every table"

    for day in days_between(first, last):
        rollups_refresh_day(day=day)

    assert rows_of(first, last) == spanned


@pytest.mark.django_db
def test_each_row_of_a_span_lands_on_its_local_day() -> None:
    """The span computes each row's local day in the reporting zone (Asia/Shanghai: the
    day turns at 16:00 UTC), where a single day states it."""
    before = datetime(2026, 3, 1, 15, 59, tzinfo=UTC)  # 23:59 on 1 March
    after = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # 00:00 on 2 March
    response_create(at=before, score=10, comment="fine")
    response_create(at=after, score=2, comment="slow", reasons=("network",))
    response_create(at=after + timedelta(days=2), score=8)  # 4 March; 3 March empty

    rollups_refresh_span(first=date(2026, 2, 28), last=date(2026, 3, 5))

    full = NpsDaily.objects.filter(grain=FULL).values_list("day", "promoters", "detractors")
    expected = [(date(2026, 3, 1), 1, 0), (date(2026, 3, 2), 0, 1), (date(2026, 3, 4), 0, 0)]
    assert sorted(full) == expected
    assert list(DetractorComment.objects.values_list("day", flat=True)) == [date(2026, 3, 2)]
    assert set(ReasonDaily.objects.values_list("day", flat=True)) == {date(2026, 3, 2)}
    funnel = FunnelDaily.objects.filter(grain=FULL).values_list("day", "interactions")
    assert sorted(funnel) == [(date(2026, 3, d), 1) for d in (1, 2, 4)]
    assert local_day(before) == date(2026, 3, 1)  # the helper agrees with the zone


@pytest.mark.django_db
def test_a_span_replaces_every_row_of_its_days_and_no_other() -> None:
    at = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    kept = response_create(at=at - timedelta(days=1), score=9)  # 28 Feb: outside
    gone = response_create(at=at, score=3)
    response_create(at=at + timedelta(days=1), score=10)
    rollups_rebuild()
    gone.delete()

    rollups_refresh_span(first=date(2026, 3, 1), last=date(2026, 3, 2))

    days = NpsDaily.objects.filter(grain=FULL).values_list("day", flat=True)
    assert sorted(days) == [local_day(kept.created_at), date(2026, 3, 2)]


def test_days_go_together_until_their_rows_or_length_would_pass_the_bounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rebuild, "SPAN_ROWS", 100)
    monkeypatch.setattr(rebuild, "SPAN_DAYS", 5)
    start = date(2026, 1, 1)
    days = days_between(start, start + timedelta(days=11))
    rows = Counter({days[0]: 40, days[1]: 50, days[2]: 20, days[3]: 300, days[4]: 1})

    spans = day_spans(days, rows)

    # 40 + 50 = 90; + 20 would be 110: cut. The busy day alone. Then at most 5 days long.
    assert [[d.day for d in span] for span in spans] == [
        [1, 2],
        [3],
        [4],
        [5, 6, 7, 8, 9],
        [10, 11, 12],
    ]
    # Sparse days (a rebuild of the days with data): the length counts calendar days.
    sparse = [start, start + timedelta(days=3), start + timedelta(days=5)]
    assert [[d.day for d in span] for span in day_spans(sparse, Counter())] == [[1, 4], [6]]
    # A span recomputes the days between those asked for: a busy one between weighs too.
    busy_between = Counter({start + timedelta(days=1): 300})
    assert [[d.day for d in span] for span in day_spans(sparse[:2], busy_between)] == [[1], [4]]


@pytest.mark.django_db
def test_a_rebuild_of_small_days_runs_the_statements_of_a_span_not_of_each_day() -> None:
    start = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    for n in range(10):
        response_create(at=start + timedelta(days=n), score=n)
    rollups_refresh_day(day=local_day(start))
    with CaptureQueriesContext(connection) as one_day:
        rollups_refresh_day(day=local_day(start))

    with CaptureQueriesContext(connection) as ten_days:
        assert rollups_rebuild() == 10

    assert NpsDaily.objects.filter(grain=FULL).count() == 10
    # The span's statements, plus the rebuild's own few reads: not ten days' worth.
    assert len(ten_days) < 2 * len(one_day) < 10 * len(one_day)


@pytest.mark.django_db
def test_days_asked_for_are_refreshed_in_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    """The days of interactions attributed later (nps.tasks.refresh_rollup_days): small
    scattered days in one span; a busy day between two of them (not asked for, but a
    span would recompute it) cuts the span."""
    start = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    for n in (0, 2, 5):
        response_create(at=start + timedelta(days=n), score=10)
    asked = [local_day(start + timedelta(days=n)) for n in (5, 0, 2, 2)]
    spans: list[tuple[date, date]] = []
    product = rebuild.rollups_refresh_span

    def spy(*, first: date, last: date, **kwargs: Any) -> None:
        spans.append((first, last))
        product(first=first, last=last, **kwargs)

    monkeypatch.setattr(rebuild, "rollups_refresh_span", spy)
    assert rollups_refresh_days(days=asked) == 3
    days = NpsDaily.objects.filter(grain=FULL).values_list("day", "promoters")
    assert sorted(days) == [(day, 1) for day in sorted(set(asked))]
    assert spans == [(min(asked), max(asked))]

    monkeypatch.setattr(rebuild, "SPAN_ROWS", 5)
    for _ in range(3):  # day 1 now weighs 3 responses, 3 interactions: over 5 with day 0
        response_create(at=start + timedelta(days=1), score=2)
    spans.clear()
    rollups_refresh_days(days=asked)
    assert spans[0] == (local_day(start), local_day(start))
