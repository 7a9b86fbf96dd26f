"""The dashboard's query counts, as its docstrings promise them: each figure a fixed number
of queries over the rollup tables, whatever the number of rows, and the page and every
CSV export the sum of their parts.

The data (tests/dashboard/builders.py) has 40 answers, a dozen detractor comments and
several cases, so a query per row would show here at once.
"""

from typing import Any

import pytest

from nps.dashboard.exports import TABLES
from nps.dashboard.forms import observed_values
from nps.reporting import queries
from nps.reporting.contract import DIMENSIONS, Filters
from tests.dashboard.builders import DAY, PERIOD, URL, Data, client_for

WHOLE_DAY = Filters(DAY, DAY, team_scope=None)


def verbatim_queries() -> int:
    """The responses (found in the narrow table DetractorComment) and their reasons."""
    return 2


@pytest.mark.parametrize(
    ("figure", "count"),
    [
        (lambda: queries.nps_counts(WHOLE_DAY), 1),
        (lambda: queries.nps_trend(WHOLE_DAY, granularity="day"), 1),
        (lambda: queries.nps_trend(WHOLE_DAY, granularity="week"), 1),
        (lambda: queries.funnel(WHOLE_DAY), 1),
        (lambda: queries.closed_loop(WHOLE_DAY), 2),  # the rollup, the live case counts
        (lambda: queries.reasons_pareto(WHOLE_DAY), 1),
        (lambda: queries.send_costs(WHOLE_DAY), 3),  # the sends, the funnel, the cases
        (lambda: observed_values(DAY, DAY, None), 1),
    ],
    ids=[
        "nps_counts",
        "trend_day",
        "trend_week",
        "funnel",
        "closed_loop",
        "reasons",
        "costs",
        "observed",
    ],
)
def test_each_dashboard_figure_is_read_in_a_fixed_number_of_queries(
    data: Data, django_assert_num_queries: Any, figure: Any, count: int
) -> None:
    with django_assert_num_queries(count):
        figure()


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_each_breakdown_is_one_query(
    data: Data, django_assert_num_queries: Any, dimension: str
) -> None:
    with django_assert_num_queries(1):
        assert queries.nps_breakdown(WHOLE_DAY, dimension=dimension)


def test_verbatims_read_the_comments_and_their_reasons_in_two_queries(
    data: Data, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(verbatim_queries()):
        found = queries.verbatims(WHOLE_DAY)
    assert len(found) > 2  # more comments than queries
    with django_assert_num_queries(0):  # reasons, customer, interaction and case are loaded
        for response in found:
            _ = [r.code for r in response.reasons.all()], response.customer.region
            _ = response.interaction.touchpoint, getattr(response, "case", None)


# A request: the session, the user, whether a supervisor; a team lead also their teams.
REQUEST = {"supervisor": 3, "lead": 4}
# The page (not an export) also asks whether to link the unit scorecards
# (followups.roles.sees_units): whether a supervisor; a lead also whether they own a unit.
LINKS = {"supervisor": 1, "lead": 2}
# The teams and units to filter by, the values present in the period (those kept in the
# cache until the next rollup refresh: the `data` fixture's rebuild is one, so read here).
FORM = 2 + 1
TABLE_QUERIES = {
    "headline": 1,  # this period and the one before, by day
    "trend": 1,
    **{f"breakdown_{d}": 1 for d in DIMENSIONS},
    "breakdown_team": 2,  # and the teams' names
    "funnel": 1,
    "closed_loop": 2,
    # Sums of three rollups (sends, the funnel's answers, the cases' recovered): the table
    # and its CSV stand alone rather than reuse the funnel's and the closed loop's reads.
    "costs": 3,
    "reasons": 1,
    "verbatims": None,  # verbatim_queries()
}


def table_queries(table: str) -> int:
    return TABLE_QUERIES[table] or verbatim_queries()


def test_every_table_has_a_pinned_count() -> None:
    assert set(TABLE_QUERIES) == set(TABLES)


# The page reads what its tables share once: the NPS by day (headline and trend), every
# breakdown in one query (and the teams' names), the funnel, the closed loop (rollup, live
# counts), the sends (the funnel's answers and the loop's recovered reused), the reasons.
PAGE_TABLES = 1 + 2 + 1 + 2 + 1 + 1


@pytest.mark.parametrize("who", ["supervisor", "lead"])
def test_the_page_reads_each_figure_once_whatever_the_rows(
    data: Data, django_assert_num_queries: Any, who: str
) -> None:
    client = client_for(getattr(data.personas, who))
    expected = REQUEST[who] + LINKS[who] + FORM + PAGE_TABLES + verbatim_queries()
    assert expected < REQUEST[who] + LINKS[who] + FORM + sum(table_queries(t) for t in TABLES)
    with django_assert_num_queries(expected):
        assert client.get(URL, PERIOD).status_code == 200


@pytest.mark.parametrize("who", ["supervisor", "lead"])
@pytest.mark.parametrize("table", TABLES)
def test_each_csv_export_reads_only_its_own_table(
    data: Data, django_assert_num_queries: Any, table: str, who: str
) -> None:
    client = client_for(getattr(data.personas, who))
    with django_assert_num_queries(REQUEST[who] + FORM + table_queries(table)):
        answer = client.get(URL, {**PERIOD, "export": table})
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
