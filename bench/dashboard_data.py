"""Synthetic data for bench/dashboard.py: N survey responses with the rows they need.

Everything is generated inside PostgreSQL (INSERT ... SELECT generate_series), chunk by
chunk, with a fixed seed per chunk, so a load is reproducible and Python never touches a
row. Before loading, the secondary indexes and the constraints other than primary keys of
the loaded tables are dropped (their DDL is kept in bench_dashboard_ddl first, so a
crashed load is repaired by the next run) and rebuilt afterwards, as bulk loads do.

Shape: interactions over DAYS days ending END_DAY (volume growing over time), between
08:00 and 18:00 Asia/Shanghai, so an interaction, its invitation and its response fall on
the same day in UTC and in China; one customer per five responses (tier A 10 %, B 30 %,
C 60 %; 30 regions, skewed); 7 touchpoints, 7 channels, 8 business types, 2,000 staff ids
(skewed); one extra non-responding interaction per five responses (expired, failed,
delivered or suppressed invitations); 70 % of detractors leave a categorised comment;
10 % of detractors have a callback case of their region's team (20 teams, 5 agents each).
"""

# SQL text here is built from this module's constants only; values are bound parameters.
# ruff: noqa: S608

import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

END_DAY = date(2026, 11, 22)
DAYS = 400
START_DAY = END_DAY - timedelta(days=DAYS - 1)
CHUNK = 1_000_000
REGIONS = (
    "GD", "JS", "SD", "ZJ", "HA", "SC", "HB", "HN", "HE", "FJ",
    "SH", "BJ", "AH", "LN", "SN", "JX", "CQ", "YN", "GX", "SX",
    "NM", "GZ", "XJ", "TJ", "HL", "JL", "GS", "HI", "NX", "QH",
)  # fmt: skip
TEAMS = 20  # team k covers the regions whose index is k modulo 20
AGENTS_PER_TEAM = 5
CASE_SHARE = 0.10  # of detractors
# Detractor comments, by reason category; the reason links follow the category.
COMMENTS = (
    ("network", "信号太差，电话经常掉线"),
    ("network", "No signal at home"),
    ("billing", "账单多扣了费用"),
    ("billing", "The bill was wrong again"),
    ("attitude", "营业员态度不好"),
    ("waiting", "排队等了一个小时"),
    ("waiting", "Waited forever on the hotline"),
    ("process", "办理流程太复杂"),
    ("product", "套餐不划算"),
    ("other", "说不清楚"),
)
LOADED = (  # children first: the order of truncation and of dropping constraints
    "followups_case",
    "surveys_responsereason",
    "surveys_response",
    "surveys_invitation",
    "surveys_interaction",
    "surveys_customer",
)

Say = Callable[[str], None]


def _sql_text_array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def _weighted(expr: str, pairs: tuple[tuple[str, float], ...]) -> str:
    """A CASE picking a value by cumulative weight of a uniform [0, 1) expression."""
    total, parts = 0.0, []
    for value, weight in pairs[:-1]:
        total += weight
        parts.append(f"WHEN {expr} < {total:.4f} THEN '{value}'")
    return f"CASE {' '.join(parts)} ELSE '{pairs[-1][0]}' END"


TOUCHPOINTS = (
    ("store_own", 0.30), ("hotline", 0.30), ("online", 0.12), ("store_partner", 0.10),
    ("store_agent", 0.08), ("self_service", 0.06), ("account_manager", 0.04),
)  # fmt: skip
TOUCHPOINT_SHIFT = {  # mean score shift per touchpoint, so breakdowns differ
    "hotline": -0.8, "store_partner": -0.5, "store_agent": -0.3, "self_service": -0.2,
    "store_own": 0.0, "online": 0.2, "account_manager": 0.6,
}  # fmt: skip
BUSINESS_TYPES = (
    ("billing", 0.25), ("plan_change", 0.20), ("broadband", 0.15), ("device", 0.12),
    ("new_line", 0.10), ("complaint", 0.08), ("roaming", 0.05), ("other", 0.05),
)  # fmt: skip
SUPPRESSED = (
    ("fatigue", 0.45), ("sampled_out", 0.25), ("opted_out", 0.15), ("tier_cap", 0.10),
    ("invalid_number", 0.05),
)  # fmt: skip


def _customers(lo: int, hi: int) -> str:
    regions = _sql_text_array(REGIONS)
    tier = _weighted("t", (("A", 0.10), ("B", 0.30), ("C", 0.60)))
    return f"""
        INSERT INTO surveys_customer (id, phone, name, language, tier, region, time_zone,
            is_mobile, opted_out_at, created_at, updated_at, in_callback)
        SELECT g, '+86139' || lpad(g::text, 8, '0'), '', 'zh-hans', {tier},
            ({regions})[1 + floor(30 * power(random(), 1.6))::int], 'Asia/Shanghai',
            true, NULL, '{START_DAY.isoformat()}'::timestamptz, now(), false
        FROM (SELECT g, random() AS t FROM generate_series({lo}, {hi}) g) s"""


def _interactions(lo: int, hi: int, customers: int) -> str:
    touchpoint = _weighted("tp", TOUCHPOINTS)
    business = _weighted("bt", BUSINESS_TYPES)
    # Channel follows the touchpoint; online splits over app, web and WeChat.
    channel = """CASE WHEN touchpoint LIKE 'store%' THEN 'counter'
        WHEN touchpoint = 'hotline' THEN 'ivr' WHEN touchpoint = 'account_manager' THEN 'visit'
        WHEN touchpoint = 'self_service' THEN 'terminal'
        WHEN ch < 0.5 THEN 'app' WHEN ch < 0.8 THEN 'wechat' ELSE 'web' END"""
    return f"""
        INSERT INTO surveys_interaction (id, external_id, customer_id, touchpoint, channel,
            business_type, staff_id, staff_name, occurred_at, created_at)
        SELECT g, 'B' || g, customer_id, touchpoint, {channel}, business_type, staff_id, '',
            occurred_at, occurred_at
        FROM (
            SELECT g, 1 + floor({customers} * random())::bigint AS customer_id,
                {touchpoint} AS touchpoint, {business} AS business_type, ch,
                'E' || (10000 + floor(2000 * power(random(), 1.5))::int) AS staff_id,
                '{START_DAY.isoformat()}'::timestamptz
                    + floor({DAYS} * sqrt(random())) * interval '1 day'
                    + floor(36000 * random()) * interval '1 second' AS occurred_at
            FROM (SELECT g, random() AS tp, random() AS bt, random() AS ch
                  FROM generate_series({lo}, {hi}) g) r
        ) s"""


def _invitations(lo: int, hi: int, responses: int) -> str:
    """Invitation i for interaction i: responded up to N, the others did not answer."""
    suppressed = _weighted("sr", SUPPRESSED)
    return f"""
        INSERT INTO surveys_invitation (id, interaction_id, customer_id, survey_id, purpose,
            status, suppressed_reason, language, text, send_at, attempts, gateway,
            provider_message_id, sent_at, delivered_at, failed_at, failure_reason,
            expires_at, responded_at, created_at)
        SELECT i.id, i.id, i.customer_id, NULL, 'survey', s.status,
            CASE WHEN s.status = 'suppressed' THEN {suppressed} ELSE '' END, 'zh-hans', '',
            i.occurred_at, CASE WHEN s.status = 'suppressed' THEN 0 ELSE 1 END,
            CASE WHEN s.status = 'suppressed' THEN '' ELSE 'simulator' END,
            CASE WHEN s.status = 'suppressed' THEN '' ELSE 'SM' || i.id END,
            CASE WHEN s.status <> 'suppressed' THEN i.occurred_at + interval '1 minute' END,
            CASE WHEN s.status IN ('delivered', 'responded', 'expired')
                THEN i.occurred_at + interval '90 seconds' END,
            CASE WHEN s.status = 'failed' THEN i.occurred_at + interval '2 minutes' END,
            CASE WHEN s.status = 'failed' THEN 'undeliverable' ELSE '' END,
            CASE WHEN s.status <> 'suppressed' THEN i.occurred_at + interval '48 hours' END,
            CASE WHEN s.status = 'responded' THEN i.occurred_at + s.delay END,
            i.occurred_at
        FROM surveys_interaction i
        CROSS JOIN LATERAL (SELECT
            CASE WHEN i.id <= {responses} THEN 'responded'
                 WHEN random() < 0.30 THEN 'suppressed' WHEN random() < 0.15 THEN 'failed'
                 WHEN i.occurred_at > '{END_DAY.isoformat()}'::timestamptz - interval '2 days'
                     THEN 'delivered'
                 ELSE 'expired' END AS status,
            floor(10800 * random()) * interval '1 second' AS delay,
            random() AS sr, i.id AS pin) s
        WHERE i.id BETWEEN {lo} AND {hi}"""


def _responses(lo: int, hi: int) -> str:
    shift = "CASE i.touchpoint " + " ".join(
        f"WHEN '{k}' THEN {v}" for k, v in TOUCHPOINT_SHIFT.items()
    )
    comments = _sql_text_array(tuple(text for _code, text in COMMENTS))
    return f"""
        INSERT INTO surveys_response (id, invitation_id, customer_id, interaction_id, score,
            category, comment, message_id, created_at, updated_at)
        SELECT id, id, customer_id, id, score,
            CASE WHEN score >= 9 THEN 'promoter' WHEN score >= 7 THEN 'passive'
                 ELSE 'detractor' END,
            CASE WHEN score <= 6 AND random() < 0.7
                 THEN ({comments})[1 + floor({len(COMMENTS)} * random())::int] ELSE '' END,
            NULL, responded_at, responded_at
        FROM (
            SELECT v.id, v.customer_id, v.responded_at,
                least(10, greatest(0, floor(9.1 + ({shift} ELSE 0 END)
                    + 3.2 * (random() + random() + random() - 1.5))))::int AS score
            FROM surveys_invitation v JOIN surveys_interaction i ON i.id = v.interaction_id
            WHERE v.id BETWEEN {lo} AND {hi} AND v.status = 'responded'
        ) s"""


def _reasons(lo: int, hi: int) -> str:
    pairs = ", ".join(f"('{code}', '{text}')" for code, text in COMMENTS)
    return f"""
        INSERT INTO surveys_responsereason (response_id, category_id, keyword, created_at)
        SELECT r.id, c.id, '', r.created_at
        FROM surveys_response r
        JOIN (VALUES {pairs}) t(code, text) ON t.text = r.comment
        JOIN surveys_reasoncategory c ON c.code = t.code
        WHERE r.id BETWEEN {lo} AND {hi} AND r.comment <> ''"""


def _cases(lo: int, hi: int, first_team: int, first_agent: int) -> str:
    regions = _sql_text_array(REGIONS)
    end = f"'{END_DAY.isoformat()}'::timestamptz + interval '1 day'"
    status = f"""CASE WHEN opened_at < {end} - interval '3 days' THEN
            CASE WHEN st < 0.75 THEN 'resolved' WHEN st < 0.85 THEN 'unreachable'
                 WHEN st < 0.90 THEN 'closed' WHEN st < 0.95 THEN 'in_progress'
                 ELSE 'assigned' END
        ELSE CASE WHEN st < 0.30 THEN 'resolved' WHEN st < 0.60 THEN 'in_progress'
                  WHEN st < 0.90 THEN 'assigned' ELSE 'new' END END"""
    return f"""
        INSERT INTO followups_case (response_id, customer_id, priority, status, team_id,
            agent_id, opened_at, assigned_at, sla_due_at, resolution_due_at, first_contact_at,
            escalation_level, escalated_at, resolved_at, action_taken,
            resolution_note, closed_at, close_reason, closed_by_correction,
            verification_due_at, verification_invitation_id, verification_score, recovered,
            needs_language, hold_reason, hold_note, hold_count, hold_total, appointment_zone,
            team_fixed)
        SELECT id, customer_id, priority, status, team_id,
            CASE WHEN status <> 'new' THEN agent_id END, opened_at,
            CASE WHEN status <> 'new' THEN opened_at + interval '1 minute' END,
            opened_at + sla_hours * interval '1 hour',
            opened_at + 4 * sla_hours * interval '1 hour',
            CASE WHEN status IN ('resolved', 'unreachable', 'closed', 'in_progress')
                 THEN opened_at + contact_minutes * interval '1 minute' END,
            0, NULL,
            CASE WHEN status = 'resolved'
                 THEN opened_at + (contact_minutes + 90) * interval '1 minute' END,
            '', '',
            CASE WHEN status IN ('unreachable', 'closed')
                 THEN opened_at + (contact_minutes + 90) * interval '1 minute' END,
            '', false,
            CASE WHEN status = 'resolved'
                 THEN opened_at + (contact_minutes + 90) * interval '1 minute'
                     + interval '7 days' END,
            NULL,
            CASE WHEN status = 'resolved' AND verified THEN verification_score END,
            CASE WHEN status = 'resolved' AND verified THEN verification_score >= 7 END,
            '', '', '', 0, interval '0', '', false
        FROM (
            SELECT r.id, r.customer_id, r.created_at + interval '30 seconds' AS opened_at,
                CASE WHEN c.tier = 'A' THEN 'P1' WHEN r.score <= 3 THEN 'P2' ELSE 'P3' END
                    AS priority,
                CASE WHEN c.tier = 'A' THEN 2 WHEN r.score <= 3 THEN 8 ELSE 24 END
                    AS sla_hours,
                {first_team} + (array_position({regions}, c.region) - 1) % {TEAMS} AS team_id,
                {first_agent} + ((array_position({regions}, c.region) - 1) % {TEAMS})
                    * {AGENTS_PER_TEAM} + floor({AGENTS_PER_TEAM} * random())::int AS agent_id,
                random() AS st, floor(1440 * power(random(), 2))::int AS contact_minutes,
                random() < 0.6 AS verified, floor(11 * random())::int AS verification_score
            FROM surveys_response r JOIN surveys_customer c ON c.id = r.customer_id
            WHERE r.id BETWEEN {lo} AND {hi} AND r.category = 'detractor'
                AND random() < {CASE_SHARE}
        ) s
        CROSS JOIN LATERAL (SELECT {status} AS status) k"""


def _teams() -> tuple[int, int]:
    """The 20 teams and their agents (ORM: a handful of rows); their first ids."""
    from followups.models import Agent, Team

    teams = Team.objects.bulk_create(
        Team(name=f"Bench team {k:02d}", regions=list(REGIONS[k::TEAMS])) for k in range(TEAMS)
    )
    agents = Agent.objects.bulk_create(
        Agent(name=f"Bench agent {t.pk}-{a}", team=t, capacity=200)
        for t in teams
        for a in range(AGENTS_PER_TEAM)
    )
    return teams[0].pk, agents[0].pk


def _ddl_pending(cursor: Any) -> None:
    """Re-create whatever a previous (interrupted) load dropped."""
    cursor.execute("SELECT ord, ddl FROM bench_dashboard_ddl ORDER BY ord")
    for ord_, ddl in cursor.fetchall():
        cursor.execute(ddl)
        cursor.execute("DELETE FROM bench_dashboard_ddl WHERE ord = %s", [ord_])


def _ddl_drop(cursor: Any) -> int:
    """Drop secondary indexes and non-PK constraints of the loaded tables, keeping their DDL."""
    tables = list(LOADED)
    cursor.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype
           FROM pg_constraint
           WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u', 'c')""",
        [tables],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
           FROM pg_index i
           WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                             AND c.contype IN ('u', 'p', 'x'))""",
        [tables],
    )
    indexes = cursor.fetchall()
    # Re-created unique and check constraints first, then indexes, then foreign keys.
    order = {"u": 0, "c": 1, "f": 3}
    recreate = [
        (order[t], f'ALTER TABLE {tbl} ADD CONSTRAINT "{n}" {d}') for tbl, n, d, t in constraints
    ]
    recreate += [(2, ddl) for _name, ddl in indexes]
    for _rank, ddl in sorted(recreate, key=lambda pair: pair[0]):
        cursor.execute("INSERT INTO bench_dashboard_ddl (ddl) VALUES (%s)", [ddl])
    for tbl, name, _d, _t in sorted(constraints, key=lambda c: c[3] != "f"):
        cursor.execute(f'ALTER TABLE {tbl} DROP CONSTRAINT IF EXISTS "{name}"')
    for name, _ddl in indexes:
        cursor.execute(f"DROP INDEX IF EXISTS {name}")
    return len(recreate)


def _chunks(first: int, last: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + CHUNK - 1, last)) for lo in range(first, last + 1, CHUNK)]


def data_load(responses: int, say: Say) -> dict[str, float]:
    """Truncate and load; returns seconds per phase."""
    from django.db import connection

    timings: dict[str, float] = {}
    customers = max(1_000, responses // 5)
    interactions = responses + responses // 5
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_dashboard_ddl (ord serial PRIMARY KEY, ddl text)"
        )
        tables = ", ".join([*LOADED, "followups_agent", "followups_team"])
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        _ddl_pending(cursor)  # on empty tables: instant
        first_team, first_agent = _teams()
        dropped = _ddl_drop(cursor)
        say(f"  truncated; dropped {dropped} indexes and constraints for the load")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET work_mem = '256MB'")
        steps: list[tuple[str, int, Callable[[int, int], str]]] = [
            ("customers", customers, _customers),
            ("interactions", interactions, lambda lo, hi: _interactions(lo, hi, customers)),
            ("invitations", interactions, lambda lo, hi: _invitations(lo, hi, responses)),
            ("responses", interactions, _responses),
            ("reasons", interactions, _reasons),
            ("cases", interactions, lambda lo, hi: _cases(lo, hi, first_team, first_agent)),
        ]
        for seed, (name, last, statement) in enumerate(steps):
            phase = time.perf_counter()
            rows = 0
            for lo, hi in _chunks(1, last):
                cursor.execute("SELECT setseed(%s)", [((seed * 1_000 + lo // CHUNK) % 997) / 997])
                cursor.execute(statement(lo, hi))
                rows += cursor.rowcount
                say(f"  {name}: {rows:,} rows, {time.perf_counter() - phase:.0f} s")
            timings[name] = time.perf_counter() - phase
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", ["surveys_customer", customers]
        )
        for table in ("surveys_interaction", "surveys_invitation", "surveys_response"):
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, interactions]
            )
        phase = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SELECT count(*) FROM bench_dashboard_ddl")
        say(f"  re-creating {cursor.fetchone()[0]} indexes and constraints")
        _ddl_pending(cursor)
        timings["indexes and constraints"] = time.perf_counter() - phase
        phase = time.perf_counter()
        physical_order(cursor, say)
        timings["rows in time order"] = time.perf_counter() - phase
        phase = time.perf_counter()
        for table in LOADED:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        timings["vacuum analyze"] = time.perf_counter() - phase
        timings["total"] = time.perf_counter() - started
    return timings


# (table, time column): live rows are written as they happen, so a day's rows sit together
# on disk. The generator writes them in id order with random times; CLUSTER restores the
# order a real database has, else every read of a day (rollups and naive side alike)
# pays a random page read per row.
TIME_ORDER = (
    ("surveys_interaction", "occurred_at"),
    ("surveys_invitation", "send_at"),
    ("surveys_response", "created_at"),
    ("followups_case", "opened_at"),
)


def physical_order(cursor: Any, say: Say) -> None:
    """Rewrite the loaded tables in the order of their time column (CLUSTER)."""
    for table, column in TIME_ORDER:
        index = f"bench_{table}_{column}"
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({column})")
        cursor.execute(f"CLUSTER {table} USING {index}")
        cursor.execute(f"DROP INDEX {index}")
        say(f"  {table} rewritten in {column} order")


def data_loaded(responses: int) -> bool:
    """The database holds exactly N responses and nothing left half-loaded."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_dashboard_ddl') IS NOT NULL")
        if cursor.fetchone()[0]:
            cursor.execute("SELECT count(*) FROM bench_dashboard_ddl")
            if cursor.fetchone()[0]:
                return False
        cursor.execute("SELECT count(*) FROM surveys_response")
        return bool(cursor.fetchone()[0] == responses)
