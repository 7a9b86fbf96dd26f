"""What the risk model knows about each customer, as of a moment: computed in SQL.

One aggregate query over the customers, their interactions, answers, invitations and cases
(each aggregated once, then joined by customer), streamed in chunks so a million customers
never sit in memory as Python objects: each chunk becomes a float matrix.

Only what happened before `as_of` counts, so a model can be trained on features as of one
moment and labels from the weeks after it. The features, in FEATURES order:

- visits_30d_<touchpoint>, visits_90d_<touchpoint>: interactions at each touchpoint in the
  30 and 90 days before as_of;
- repeats_7d: interactions in the 7 days before; complaints_90d: those of kind complaint
  in the 90 days before;
- days_since_last: days since the latest interaction, at most 365 (also with none);
- arpu, arpu_trend_yuan: the CRM's monthly ARPU and its change (0 when not sent);
- tier_A, tier_B, tier_C: the value tier, one-hot; tenure_days: days since the customer
  was created;
- touchpoint_nps: the NPS (-100..100) of the touchpoints the customer used in the 90 days
  before, from every customer's answers in those 90 days, weighted by the customer's
  visits to each; region_nps: the NPS of the customer's region in those 90 days (both the
  NPS of all answers in the 90 days when there is nothing to weigh or no answer there);
- answers, answer_mean, last_score, last_detractor, any_detractor: the customer's earlier
  answers (mean and last score 7, a passive, when none);
- unanswered: invitations sent whose reply window ended before as_of without an answer;
- cases, cases_unresolved: callback cases opened, and those not resolved by as_of
  (still open, unreachable, or resolved later); closed because a score was corrected
  does not count.
"""

# The SQL text is built from this module's constants only; values are bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import itertools
import queue
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection, connections
from django.utils.translation import gettext_lazy as _

from surveys.models import Touchpoint

TOUCHPOINTS: tuple[str, ...] = tuple(Touchpoint.values)
LAST_DAYS_CAP = 365  # days_since_last for a customer not seen in a year, or never
NO_ANSWER_SCORE = 7.0  # answer_mean and last_score of a customer who never answered
CHUNK = 50_000
PARTS = 2  # queries at once on PostgreSQL (one core each)
PARALLEL_FROM = 100_000  # customers; fewer are computed in one query
WORK_MEM = "256MB"  # per sort or hash of the query, on PostgreSQL (about 200 bytes a customer)

FEATURES: tuple[str, ...] = (
    *(f"visits_30d_{tp}" for tp in TOUCHPOINTS),
    *(f"visits_90d_{tp}" for tp in TOUCHPOINTS),
    "repeats_7d",
    "complaints_90d",
    "days_since_last",
    "arpu",
    "arpu_trend_yuan",
    "tier_A",
    "tier_B",
    "tier_C",
    "tenure_days",
    "touchpoint_nps",
    "region_nps",
    "answers",
    "answer_mean",
    "last_score",
    "last_detractor",
    "any_detractor",
    "unanswered",
    "cases",
    "cases_unresolved",
)
_V90 = FEATURES.index(f"visits_90d_{TOUCHPOINTS[0]}")
_TP_NPS = FEATURES.index("touchpoint_nps")


Floats = npt.NDArray[np.float64]


@dataclass
class FeatureChunk:
    customer_ids: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float64]  # one row per customer, FEATURES columns


def _float() -> str:
    return "double precision" if connection.vendor == "postgresql" else "REAL"


def _days(later: str, earlier: str) -> str:
    """SQL for the days (a real number) from `earlier` to `later`."""
    if connection.vendor == "postgresql":
        return f"(CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS double precision) / 86400)"
    return f"(julianday({later}) - julianday({earlier}))"


def _at(value: datetime) -> Any:
    """A moment as this database compares it with stored ones."""
    return connection.ops.adapt_datetimefield_value(value)


def _nps_sql(score: str) -> str:
    return (
        f"CAST(100.0 * (SUM(CASE WHEN {score} >= 9 THEN 1 ELSE 0 END)"
        f" - SUM(CASE WHEN {score} <= 6 THEN 1 ELSE 0 END)) / COUNT(*) AS {_float()})"
    )


def _recent_nps(as_of: datetime) -> tuple[float, dict[str, float]]:
    """The NPS of all answers in the 90 days before as_of, and of each touchpoint's."""
    sql = (
        f"SELECT i.touchpoint, COUNT(*), {_nps_sql('r.score')}"
        " FROM surveys_response r JOIN surveys_interaction i ON i.id = r.interaction_id"
        " WHERE r.created_at >= %s AND r.created_at < %s GROUP BY i.touchpoint"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_at(as_of - timedelta(days=90)), _at(as_of)])
        rows = cursor.fetchall()
    total = sum(n for _tp, n, _nps in rows)
    overall = sum(n * nps for _tp, n, nps in rows) / total if total else 0.0
    return overall, {tp: float(nps) for tp, _n, nps in rows}


def _query(as_of: datetime, overall_nps: float, ids: tuple[int, int]) -> tuple[str, list[Any]]:
    """The features of the customers with ids in [ids[0], ids[1]), in id order."""
    at = _at(as_of)
    rng = "customer_id >= %s AND customer_id < %s"
    d7, d30, d90, d365 = (_at(as_of - timedelta(days=d)) for d in (7, 30, 90, 365))
    visits = [
        f"COUNT(*) FILTER (WHERE touchpoint = %s AND occurred_at >= %s) AS v{w}_{n}"
        for w in (30, 90)
        for n in range(len(TOUCHPOINTS))
    ]
    visit_params = [p for w in (d30, d90) for tp in TOUCHPOINTS for p in (tp, w)]
    fl = _float()
    columns = [
        "c.id",
        *(f"COALESCE(i.v{w}_{n}, 0)" for w in (30, 90) for n in range(len(TOUCHPOINTS))),
        "COALESCE(i.rep7, 0)",
        "COALESCE(i.compl90, 0)",
        f"COALESCE(MIN({LAST_DAYS_CAP}, {_days('%s', 'i.last_at')}), {LAST_DAYS_CAP})",
        "COALESCE(c.arpu, 0)",
        "COALESCE(c.arpu_trend_yuan, 0)",
        *(f"CASE WHEN c.tier = '{t}' THEN 1 ELSE 0 END" for t in "ABC"),
        f"CASE WHEN c.created_at < %s THEN {_days('%s', 'c.created_at')} ELSE 0 END",
        "0",  # touchpoint_nps: weighed from the visits afterwards
        "COALESCE(g.nps, %s)",
        "COALESCE(r.n, 0)",
        f"COALESCE(r.mean_score, {NO_ANSWER_SCORE})",
        f"COALESCE(l.score, {NO_ANSWER_SCORE})",
        "CASE WHEN l.score <= 6 THEN 1 ELSE 0 END",
        "COALESCE(r.any_det, 0)",
        "COALESCE(u.n, 0)",
        "COALESCE(k.n, 0)",
        "COALESCE(k.unresolved, 0)",
    ]
    # Every column a float: one fixed-size row format for the binary COPY below.
    sql = f"""
    SELECT {", ".join(f"CAST({column} AS {fl})" for column in columns)}
    FROM surveys_customer c
    LEFT JOIN (
      SELECT customer_id, {", ".join(visits)},
        COUNT(*) FILTER (WHERE occurred_at >= %s) AS rep7,
        COUNT(*) FILTER (WHERE kind = 'complaint' AND occurred_at >= %s) AS compl90,
        MAX(occurred_at) AS last_at
      FROM surveys_interaction WHERE occurred_at >= %s AND occurred_at < %s AND {rng}
      GROUP BY customer_id
    ) i ON i.customer_id = c.id
    LEFT JOIN (
      SELECT cu.region, {_nps_sql("rr.score")} AS nps
      FROM surveys_response rr JOIN surveys_customer cu ON cu.id = rr.customer_id
      WHERE rr.created_at >= %s AND rr.created_at < %s GROUP BY cu.region
    ) g ON g.region = c.region
    LEFT JOIN (
      SELECT customer_id, COUNT(*) AS n, AVG(CAST(score AS {fl})) AS mean_score,
        MAX(CASE WHEN score <= 6 THEN 1 ELSE 0 END) AS any_det
      FROM surveys_response WHERE created_at < %s AND {rng} GROUP BY customer_id
    ) r ON r.customer_id = c.id
    LEFT JOIN (
      SELECT customer_id, score FROM (
        SELECT customer_id, score, ROW_NUMBER() OVER (
          PARTITION BY customer_id ORDER BY created_at DESC, id DESC) AS rn
        FROM surveys_response WHERE created_at < %s AND {rng}
      ) ranked WHERE rn = 1
    ) l ON l.customer_id = c.id
    LEFT JOIN (
      SELECT customer_id, COUNT(*) AS n FROM surveys_invitation
      WHERE sent_at < %s AND expires_at <= %s AND (responded_at IS NULL OR responded_at >= %s)
        AND {rng}
      GROUP BY customer_id
    ) u ON u.customer_id = c.id
    LEFT JOIN (
      SELECT customer_id, COUNT(*) AS n,
        SUM(CASE WHEN status = 'unreachable' OR resolved_at IS NULL OR resolved_at >= %s
            THEN 1 ELSE 0 END) AS unresolved
      FROM followups_case WHERE opened_at < %s AND NOT closed_by_correction AND {rng}
      GROUP BY customer_id
    ) k ON k.customer_id = c.id
    WHERE c.id >= %s AND c.id < %s
    ORDER BY c.id
    """
    if connection.vendor == "postgresql":
        sql = sql.replace("MIN(", "LEAST(")
    params = [
        *(at, at, at, overall_nps),  # days since last; tenure; region NPS when none
        *(*visit_params, d7, d90, d365, at, *ids),  # interactions
        *(d90, at),  # region NPS
        *(at, *ids, at, *ids),  # answers; last answer
        *(at, at, at, *ids),  # unanswered
        *(at, at, *ids),  # cases
        *ids,  # the customers
    ]
    return sql, params


@contextmanager
def _aggregate_memory() -> Iterator[None]:
    """On PostgreSQL, room to aggregate a million customers in memory, not on disk."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = %s", [WORK_MEM])
        # Parallel workers would each build a table of all the customers, then merge them:
        # no faster for a million groups, and twice the memory.
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET work_mem")
            cursor.execute("RESET max_parallel_workers_per_gather")


def features_iter(
    *, as_of: datetime, chunk: int = CHUNK, parts: int | None = None
) -> Iterator[FeatureChunk]:
    """Every customer's features as of `as_of`, in customer id order, `chunk` rows at a time.

    On PostgreSQL, outside a transaction, a large customer base is split by id range into
    `parts` (PARTS by default) queries run at once on their own connections: one query
    uses one core. Inside a transaction (other connections would not see its writes) or
    under PARALLEL_FROM customers, one query.
    """
    overall, by_touchpoint = _recent_nps(as_of)
    tp_nps = np.array([by_touchpoint.get(tp, overall) for tp in TOUCHPOINTS])
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id), COUNT(*) FROM surveys_customer")
        low, high, count = cursor.fetchone()
    if not count:
        return
    ranges = [(int(low), int(high) + 1)]
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        parts = parts or (PARTS if count >= PARALLEL_FROM else 1)
        cuts = [int(low) + (int(high) + 1 - int(low)) * n // parts for n in range(parts + 1)]
        ranges = [(a, b) for a, b in itertools.pairwise(cuts) if a < b]
    blocks: Iterator[Floats]
    if connection.vendor != "postgresql":
        blocks = _fetch_blocks(*_query(as_of, overall, ranges[0]), chunk)
    elif len(ranges) == 1:
        blocks = _copy_blocks(*_query(as_of, overall, ranges[0]), chunk)
    else:
        blocks = _copy_parallel([_query(as_of, overall, ids) for ids in ranges], chunk)
    for block in blocks:
        ids, matrix = block[:, 0].astype(np.int64), block[:, 1:]
        visits = matrix[:, _V90 : _V90 + len(TOUCHPOINTS)]
        seen = visits.sum(axis=1)
        weighted = visits @ tp_nps
        matrix[:, _TP_NPS] = np.where(seen > 0, weighted / np.maximum(seen, 1), overall)
        yield FeatureChunk(customer_ids=ids, matrix=matrix)


def _copy_parallel(queries: list[tuple[str, list[Any]]], chunk: int) -> Iterator[Floats]:
    """The queries' rows, each query on its own connection at once, in the queries' order.

    The first query's rows are passed on as they come; the others' wait in memory.
    """

    def run(sql: str, params: list[Any], out: queue.Queue[Floats | None] | None) -> list[Floats]:
        kept: list[Floats] = []
        try:
            for block in _copy_blocks(sql, params, chunk):
                if out is None:
                    kept.append(block)
                else:
                    out.put(block)
        finally:
            if out is not None:
                out.put(None)
            connections.close_all()  # this thread's connections only
        return kept

    first: queue.Queue[Floats | None] = queue.Queue()
    with ThreadPoolExecutor(len(queries)) as pool:
        head = pool.submit(run, *queries[0], first)
        rest = [pool.submit(run, sql, params, None) for sql, params in queries[1:]]
        while (block := first.get()) is not None:
            yield block
        head.result()  # raises what the query raised
        for future in rest:
            yield from future.result()


def _fetch_blocks(sql: str, params: list[Any], chunk: int) -> Iterator[Floats]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk):
            yield np.array(rows, dtype=np.float64)


def _copy_blocks(sql: str, params: list[Any], chunk: int) -> Iterator[Floats]:
    """PostgreSQL: the rows as binary COPY, read straight into arrays as they come.

    Each row is a 16-bit field count, then per field a 32-bit length and the 8-byte float,
    big-endian (every column is cast to double precision, none is NULL).
    """
    width = len(FEATURES) + 1
    row = np.dtype([("n", ">i2"), ("f", [("len", ">i4"), ("value", ">f8")], (width,))])
    header = 19  # signature (11 bytes), flags (4), header extension length (4, zero)
    buffer, skipped = bytearray(), False
    with _aggregate_memory(), connection.cursor() as cursor:
        with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)", params) as copy:
            for data in copy:
                buffer += data
                if not skipped and len(buffer) >= header:
                    del buffer[:header]
                    skipped = True
                while skipped and len(buffer) >= row.itemsize * chunk:
                    yield _rows(buffer, row, chunk)
        rest = (len(buffer) - 2) // row.itemsize  # the trailer: a field count of -1
        if skipped and rest > 0:
            yield _rows(buffer, row, rest)


def _rows(buffer: bytearray, row: np.dtype[Any], count: int) -> Floats:
    """The first `count` rows of the buffer as floats, removed from it."""
    size = row.itemsize * count
    parsed = np.frombuffer(bytes(buffer[:size]), dtype=row)
    del buffer[:size]
    return parsed["f"]["value"].astype(np.float64)


def features_matrix(*, as_of: datetime) -> FeatureChunk:
    """Every customer's features as of `as_of` at once (for training and tests)."""

    chunks = list(features_iter(as_of=as_of))
    if not chunks:
        return FeatureChunk(np.zeros(0, dtype=np.int64), np.zeros((0, len(FEATURES))))
    return FeatureChunk(
        np.concatenate([c.customer_ids for c in chunks]),
        np.concatenate([c.matrix for c in chunks]),
    )


_LABELS = {
    "repeats_7d": _("Contacts in the last 7 days"),
    "complaints_90d": _("Complaints in 90 days"),
    "days_since_last": _("Days since the last contact"),
    "arpu": _("Monthly ARPU (yuan)"),
    "arpu_trend_yuan": _("ARPU change on the previous month (yuan)"),
    "tenure_days": _("Days as a customer"),
    "touchpoint_nps": _("Recent NPS of the touchpoints used"),
    "region_nps": _("Recent NPS of the region"),
    "answers": _("Earlier answers"),
    "answer_mean": _("Mean score of earlier answers"),
    "last_score": _("Last score"),
    "last_detractor": _("Last answer was a detractor"),
    "any_detractor": _("Ever answered as a detractor"),
    "unanswered": _("Surveys not answered"),
    "cases": _("Callback cases"),
    "cases_unresolved": _("Cases not resolved"),
}


def feature_label(name: str) -> str:
    """What a feature means, in the reader's language (for the admin and the pool pages)."""
    if name.startswith(("visits_30d_", "visits_90d_")):
        touchpoint = Touchpoint(name[len("visits_30d_") :]).label
        if name.startswith("visits_30d_"):
            return str(_("Visits to %(touchpoint)s in 30 days") % {"touchpoint": touchpoint})
        return str(_("Visits to %(touchpoint)s in 90 days") % {"touchpoint": touchpoint})
    if name.startswith("tier_"):
        return str(_("Value tier %(tier)s") % {"tier": name[len("tier_") :]})
    return str(_LABELS.get(name, name))
