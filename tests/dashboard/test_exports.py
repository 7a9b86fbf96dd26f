"""The dashboard's CSV downloads, its Plotly asset, and the page in Chinese.

Expected values are counted from the rows the builders created (tests/dashboard/builders.py).
"""

import gzip
import re
from collections import Counter
from datetime import timedelta
from typing import Any

import plotly
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from followups.models import OPEN_STATUSES, Case, CaseStatus
from nps.dashboard.exports import ESTIMATE_HEADER, TABLES
from nps.dashboard.views import PLOTLY_JS
from nps.reporting.rebuild import rollups_rebuild
from surveys.models import Category, ReasonCategory
from tests.dashboard.builders import (
    PERIOD,
    URL,
    Data,
    client_for,
    csv_rows,
    links,
    page,
    section,
)

HEADERS = {
    "headline": ["period", "start", "end", *ESTIMATE_HEADER, "change", "change_moe", "significant"],
    "trend": ["day", *ESTIMATE_HEADER],
    "funnel": ["step", "label", "count", "percent"],
    "closed_loop": ["measure", "label", "value"],
    "costs": ["measure", "label", "value", "currency"],
    "reasons": ["reason", "label", "detractors", "percent", "cumulative_percent"],
    "verbatims": ["answered_at", "score", "touchpoint", "reasons", "comment", "case_id"],
}


def export(client: Client, table: str, **params: Any) -> list[list[str]]:
    return csv_rows(client.get(URL, {**PERIOD, **params, "export": table}))


def estimate_cells(counts: dict[str, int], nps: str, sufficient: bool) -> list[str]:
    n, p, m, d = (counts[k] for k in ("responses", *Category.values))
    shown = "yes" if sufficient else "no"
    return [str(n), str(p), str(m), str(d), nps if sufficient else "", shown]


def without_moe(row: list[str]) -> list[str]:
    """An estimate row without its margin column (checked in tests/dashboard/test_stats.py)."""
    at = row.index("yes") if "yes" in row else row.index("no")
    return row[: at - 1] + row[at:]


# ---------------------------------------------------------------- CSV


@pytest.mark.parametrize("table", TABLES)
def test_every_table_downloads_as_csv_with_its_header(data: Data, table: str) -> None:
    answer = client_for(data.personas.supervisor).get(URL, {**PERIOD, "export": table})

    rows = csv_rows(answer)
    assert f"nps-{table}-20260302-20260302.csv" in answer["Content-Disposition"]
    if table.startswith("breakdown_"):
        dimension = table.removeprefix("breakdown_")
        assert rows[0] == [dimension, "label", *ESTIMATE_HEADER]
    else:
        assert rows[0] == HEADERS[table]
    assert len(rows) > 1


def test_every_csv_link_on_the_page_is_a_known_table(data: Data) -> None:
    html = page(client_for(data.personas.supervisor))

    exported = {href.split("export=")[1] for href in links(html) if "export=" in href}
    assert exported == set(TABLES)


def test_unknown_export_is_not_found(data: Data) -> None:
    answer = client_for(data.personas.supervisor).get(URL, {"export": "passwords"})

    assert answer.status_code == 404


def test_headline_csv_has_both_periods_and_the_change(data: Data) -> None:
    rows = export(client_for(data.personas.lead), "headline")

    current, previous = rows[1], rows[2]
    north = data.counts(data.select(team="North"))
    assert current[:3] == ["current", "2026-03-02", "2026-03-02"]
    assert without_moe(current[3:10]) == estimate_cells(north, "40.0", True)
    assert current[10:] == ["-60.0", current[11], "yes"]
    assert previous[:3] == ["previous", "2026-03-01", "2026-03-01"]
    assert without_moe(previous[3:10]) == estimate_cells(data.counts(data.previous), "100.0", True)


def test_breakdown_csv_has_a_row_per_value_and_no_nps_below_the_minimum(data: Data) -> None:
    rows = export(client_for(data.personas.supervisor), "breakdown_region")

    by_region = {row[0]: row for row in rows[1:]}
    assert set(by_region) == {"BJ", "SH"}
    bj, sh = data.counts(data.select(region="BJ")), data.counts(data.select(region="SH"))
    assert without_moe(by_region["BJ"][2:]) == estimate_cells(bj, "40.0", True)
    assert without_moe(by_region["SH"][2:]) == estimate_cells(sh, "", False)
    assert by_region["SH"][6:8] == ["", ""]  # neither NPS nor margin below the minimum


def test_team_breakdown_csv_of_a_team_lead_has_only_their_team(data: Data) -> None:
    south = data.team_id("South")
    rows = export(client_for(data.personas.lead), "breakdown_team", team=south)

    assert [row[:3] for row in rows[1:]] == [[str(data.team_id("North")), "North", "30"]]


def test_trend_csv_has_the_day(data: Data) -> None:
    rows = export(client_for(data.personas.supervisor), "trend", start="2026-03-01")

    assert [row[0] for row in rows[1:]] == ["2026-03-01", "2026-03-02"]
    assert rows[2][1] == str(len(data.rows))
    assert rows[1][1] == str(len(data.previous))


def test_funnel_csv_counts_interactions_to_responses_and_the_suppressed(data: Data) -> None:
    rows = {row[0]: row for row in export(client_for(data.personas.lead), "funnel")[1:]}

    north = len(data.select(team="North"))
    assert rows["interactions"][2] == str(north + 1)  # and the one not surveyed (fatigue)
    assert [rows[step][2] for step in ("sent", "delivered", "responded")] == [str(north)] * 3
    assert rows["response_rate"][3] == "100.0"
    assert rows["suppressed_fatigue"][2] == "1"


def test_closed_loop_csv_counts_the_cases(data: Data) -> None:
    rows = {row[0]: row for row in export(client_for(data.personas.supervisor), "closed_loop")[1:]}

    opened = [c for c in data.cases if c.opened_at.date().isoformat() == PERIOD["start"]]
    north = [c for c in opened if c.team_id == data.team_id("North")]
    assert rows["opened"][2] == str(len(opened))
    assert float(rows["first_contact_in_sla_pct"][2]) == round(100 * len(north) / len(opened), 1)
    page_text = section(page(client_for(data.personas.supervisor)), "closed-loop")
    assert f"{len(north)} (50% of opened)" in page_text


def test_first_contact_within_sla_is_a_share_of_the_cases_due(data: Data) -> None:
    opened = [c for c in data.cases if c.opened_at.date().isoformat() == PERIOD["start"]]
    north = [c for c in opened if c.team_id == data.team_id("North")]
    waiting = next(c for c in opened if c.team_id == data.team_id("South"))
    assert waiting.first_contact_at is None
    assert waiting.status in OPEN_STATUSES
    # Not reached, and its first contact is due in two hours: it has not missed anything yet.
    Case.objects.filter(pk=waiting.pk).update(sla_due_at=timezone.now() + timedelta(hours=2))

    rows = {row[0]: row for row in export(client_for(data.personas.supervisor), "closed_loop")[1:]}

    due = len(opened) - 1
    assert float(rows["first_contact_in_sla_pct"][2]) == round(100 * len(north) / due, 1)
    shown = section(page(client_for(data.personas.supervisor)), "closed-loop")
    assert "within SLA, of the cases due" in shown
    share = round(100 * len(north) / due)
    assert f"{len(north)} of {due} cases due ({share}%); 1 not yet due" in shown


def test_closed_loop_shows_first_attempts_first_reach_and_the_unrouted_queue(data: Data) -> None:
    opened = [c for c in data.cases if c.opened_at.date().isoformat() == PERIOD["start"]]
    north = [c for c in opened if c.team_id == data.team_id("North")]
    stranded = next(c for c in opened if c.team_id == data.team_id("South"))
    Case.objects.filter(pk=stranded.pk).update(team=None, agent=None, status=CaseStatus.NEW)
    Case.objects.filter(pk=north[0].pk).update(first_contact_at=None)  # a failed call only
    rollups_rebuild()
    rows = {row[0]: row for row in export(client_for(data.personas.supervisor), "closed_loop")[1:]}

    assert rows["first_attempted"][2] == str(len(north))
    assert rows["first_contacted"][2] == str(len(north) - 1)
    assert rows["median_minutes_to_first_attempt"][2] != ""
    assert rows["median_minutes_to_first_contact"][2] != ""
    assert rows["unrouted_now"][2] == "1"
    shown = section(page(client_for(data.personas.supervisor)), "closed-loop")
    assert "Median time to first attempt" in shown
    assert "Median time to first reach" in shown
    assert '?assignment=unrouted">1</a>' in shown
    lead = section(page(client_for(data.personas.lead)), "closed-loop")
    assert "?assignment=unrouted" not in lead  # the queue has no team: not a lead's rows


def test_reasons_csv_is_a_pareto_of_the_detractor_reasons(data: Data) -> None:
    rows = export(client_for(data.personas.supervisor), "reasons")

    expected = Counter(
        "billing" if r.team == "South" else "network" for r in data.rows if r.comment
    )
    assert {row[0]: int(row[2]) for row in rows[1:]} == dict(expected)
    assert rows[-1][4] == "100.0"


def test_verbatims_csv_follows_the_reason_chosen(data: Data) -> None:
    client = client_for(data.personas.supervisor)
    every = export(client, "verbatims")
    billing = export(client, "verbatims", reason="billing")

    assert sorted(row[4] for row in every[1:]) == sorted(r.comment for r in data.rows if r.comment)
    south = sorted(r.comment for r in data.select(team="South") if r.comment)
    assert sorted(row[4] for row in billing[1:]) == south
    case_of = {c.response.comment: str(c.pk) for c in data.cases}
    assert all(row[5] == case_of[row[4]] for row in every[1:])
    assert {row[0] for row in every[1:]} == {"2026-03-02T12:00:00+08:00"}  # reporting zone


def test_csv_labels_follow_the_language(data: Data) -> None:
    client = client_for(data.personas.supervisor, accept_language="zh-hans")

    rows = export(client, "reasons")

    network = ReasonCategory.objects.get(code="network")
    assert [network.name_zh] == [row[1] for row in rows if row[0] == "network"]
    assert rows[0] == HEADERS["reasons"]  # column names stay English identifiers


# ---------------------------------------------------------------- Plotly asset


def test_plotly_is_served_from_the_installed_package_with_long_caching(db: Any) -> None:
    answer = Client().get("/dashboard/assets/plotly.js")

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/javascript")
    assert answer.content == PLOTLY_JS.read_bytes()
    assert str(PLOTLY_JS).startswith(str(plotly.__path__[0]))
    cache = answer["Cache-Control"]
    assert "public" in cache
    assert "max-age=31536000" in cache
    assert "immutable" in cache
    assert answer["ETag"] == f'"plotly-{plotly.__version__}"'
    assert "Accept-Encoding" in answer["Vary"]


def test_plotly_is_gzipped_when_accepted_and_not_sent_again_when_cached(db: Any) -> None:
    client = Client()
    zipped = client.get("/dashboard/assets/plotly.js", headers={"accept-encoding": "gzip, br"})
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == PLOTLY_JS.read_bytes()

    again = client.get("/dashboard/assets/plotly.js", headers={"if-none-match": zipped["ETag"]})

    assert again.status_code == 304
    assert not again.content


def test_page_loads_plotly_from_the_asset_url_with_its_version(data: Data) -> None:
    html = page(client_for(data.personas.supervisor))

    assert f'src="/dashboard/assets/plotly.js?v={plotly.__version__}"' in html
    # Nothing loaded from elsewhere (attributes only: a CSRF token's letters may spell "cdn").
    addresses = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert addresses
    assert not [
        a for a in addresses if "cdn" in a.lower() or a.startswith(("http:", "https:", "//"))
    ]


# ---------------------------------------------------------------- language


CHINESE = ["净推荐值", "推荐者", "被动者", "贬损者", "误差范围", "最近 30 天", "触点"]


@pytest.mark.parametrize("accept_language", ["zh-hans", "zh-CN,zh;q=0.9,en;q=0.5"])
def test_page_in_chinese_for_a_chinese_browser(data: Data, accept_language: str) -> None:
    html = page(client_for(data.personas.lead, accept_language=accept_language))

    assert '<html lang="zh-hans">' in html
    assert all(word in html for word in CHINESE)
    supervisor = client_for(data.personas.supervisor, accept_language="zh-hans")
    assert "至少需要 30 个回答" in page(supervisor)
    assert "Net Promoter Score" not in html
    assert "Detractors" not in section(html, "headline")
    assert ReasonCategory.objects.get(code="network").name_zh in section(html, "reasons")


def test_page_in_chinese_from_the_language_cookie(data: Data) -> None:
    client = client_for(data.personas.supervisor, accept_language="en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    html = page(client, region="SH")

    assert "净推荐值" in html
    assert "至少需要 30 个回答；目前 10 个" in html
    assert "0（占开单数 0%）" in section(html, "closed-loop")  # none of South's 6 contacted
    # Each language is offered in its own name, so a reader of either can switch back.
    assert '<option value="en" lang="en">English</option>' in html
    assert '<option value="zh-hans" lang="zh-hans" selected>简体中文</option>' in html


def test_language_switch_sets_the_cookie_and_returns_to_the_page(data: Data) -> None:
    client = client_for(data.personas.supervisor)
    assert "Net Promoter Score" in page(client)
    back = f"{URL}?start=2026-03-02&end=2026-03-02"

    answer = client.post("/dashboard/i18n/setlang/", {"language": "zh-hans", "next": back})

    assert answer.status_code == 302
    assert answer["Location"] == back
    assert "净推荐值" in page(client)


def test_page_in_english_by_default(data: Data) -> None:
    html = page(client_for(data.personas.supervisor))

    assert '<html lang="en">' in html
    assert "Net Promoter Score" in html
    assert "净推荐值" not in html
