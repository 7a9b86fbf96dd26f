"""The dissatisfied-customer pool: stays opened for a reason and closed with one.

A customer holds at most one open stay per reason (the partial unique constraint
poolmember_one_open_stay_per_reason); entering again for a reason already open is a no-op.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.db.models import Count, QuerySet
from django.utils import timezone

from care.models import ExitReason, MemberKind, PoolMember, PoolPolicy
from surveys.models import Customer


def pool_open() -> QuerySet[PoolMember]:
    """The stays that have not ended."""
    return PoolMember.objects.filter(left_at__isnull=True)


@dataclass(frozen=True)
class Entry:
    """One customer entering: when, what put them there, in a word."""

    customer_id: int
    at: datetime
    source: str = ""
    detail: str = ""


def pool_enter(
    *,
    customer_ids: Sequence[int],
    reason: str,
    at: datetime,
    kind: str = MemberKind.EXPLICIT,
    detail: str = "",
    source: str = "",
) -> int:
    """Open a stay for `reason` for each customer without one open; the number opened."""
    entries = [Entry(pk, at, source, detail) for pk in dict.fromkeys(customer_ids)]
    return pool_entries_open(entries=entries, reason=reason, kind=kind)


def pool_entries_open(
    *, entries: Sequence[Entry], reason: str, kind: str = MemberKind.EXPLICIT
) -> int:
    """pool_enter with a time, source and detail per customer (a batch of answers); the
    number opened. A customer listed twice enters once, with their first entry.

    One INSERT ... ON CONFLICT DO NOTHING RETURNING on the partial unique index: safe
    when two writers enter the same customer at once, and the count is exactly the rows
    this statement inserted (PostgreSQL and SQLite >= 3.35).
    """
    firsts = list({entry.customer_id: entry for entry in reversed(entries)}.values())
    firsts.sort(key=lambda entry: entry.customer_id)  # one lock order for concurrent writers
    meta = PoolMember._meta
    names = (
        "customer",
        "kind",
        "reason",
        "detail",
        "source",
        "entered_at",
        "exit_reason",
        "factors",
    )
    stored = {f.name: f for f in meta.concrete_fields}
    fields = [stored[name] for name in names]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    opened = 0
    for start in range(0, len(firsts), 500):  # SQLite's bound-parameter limit
        chunk = firsts[start : start + 500]
        params: list[Any] = []
        for entry in chunk:
            values = {
                "customer": entry.customer_id,
                "kind": kind,
                "reason": reason,
                "detail": entry.detail[:200],
                "source": entry.source[:64],
                "entered_at": entry.at,
                "exit_reason": "",
                "factors": [],
            }
            params.extend(f.get_db_prep_save(values[f.name], connection) for f in fields)
        sql = (
            f"INSERT INTO {qn(meta.db_table)} ({columns}) "  # noqa: S608 (names from model meta)
            f"VALUES {', '.join([placeholders] * len(chunk))} "
            f"ON CONFLICT ({qn('customer_id')}, {qn('reason')}) WHERE {qn('left_at')} IS NULL "
            f"DO NOTHING RETURNING {qn(meta.pk.column)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            opened += len(cursor.fetchall())
    return opened


def pool_leave(
    *,
    customer_ids: Sequence[int],
    reason: str,
    at: datetime,
    entry_reasons: Iterable[str] | None = None,
    entered_before: datetime | None = None,
) -> int:
    """Close the customers' open stays (every reason, or only `entry_reasons`; only those
    entered before `entered_before` if given); how many closed."""
    ids = list(set(customer_ids))
    if not ids:
        return 0
    stays = pool_open().filter(customer_id__in=ids)
    if entry_reasons is not None:
        stays = stays.filter(reason__in=list(entry_reasons))
    if entered_before is not None:
        stays = stays.filter(entered_at__lt=entered_before)
    # A conditional update: a stay closed by a concurrent writer is not closed twice.
    return stays.update(left_at=at, exit_reason=reason)


def pool_age_out(*, now: datetime) -> int:
    """Close every open stay that entered more than PoolPolicy.age_days ago; how many."""
    cutoff = now - timedelta(days=PoolPolicy.current().age_days)
    return (
        pool_open().filter(entered_at__lt=cutoff).update(left_at=now, exit_reason=ExitReason.AGED)
    )


@shared_task(name="care.pool.age_out")
def age_out() -> int:
    """Daily: stays past their age leave the pool (safe to run twice: a conditional update)."""
    return pool_age_out(now=timezone.now())


# The pool's size over time --------------------------------------------------------------

GROUPS = {  # by -> the SQL expression of a stay's group
    "all": "''",
    "reason": "m.reason",
    "kind": "m.kind",
    "region": "c.region",
    "tier": "c.tier",
}
FOREVER = datetime(3000, 1, 1, tzinfo=UTC)  # stands for "not left yet" in the SQL below


@dataclass(frozen=True)
class PoolCount:
    day: date  # a local day (settings.NPS_REPORTING_TIME_ZONE)
    key: str  # the group's value ("" for by="all")
    members: int  # customers in the pool at the end of that day


def pool_zone() -> ZoneInfo:
    """The dashboard's local days: the reporting zone, else the operator's default."""
    name = getattr(settings, "NPS_REPORTING_TIME_ZONE", None) or settings.NPS_DEFAULT_TIME_ZONE
    return ZoneInfo(name)


def pool_counts(by: str = "all", *, kind: str | None = None) -> dict[str, int]:
    """Customers in the pool now, per group (a customer counts once per group)."""
    column = {"all": None, "reason": "reason", "kind": "kind"}.get(by, f"customer__{by}")
    if by not in GROUPS:
        raise ValueError(f"pool_counts by {by!r}")
    stays = pool_open() if kind is None else pool_open().filter(kind=kind)
    if column is None:
        return {"": stays.values("customer_id").distinct().count()}
    rows = stays.values(column).annotate(n=Count("customer_id", distinct=True))
    return {row[column]: row["n"] for row in rows.order_by(column)}


def pool_size_series(
    *, start: date, end: date, by: str = "all", kind: str | None = None
) -> list[PoolCount]:
    """Customers in the pool at the end of each local day from start to end, per group;
    every group seen gets every day (zeros included), ordered by day then group.

    One query: a customer's stays of one group, taken in order of entry, form continuous
    spells (two overlapping stays for different reasons count the customer once per
    region, tier or kind); a stay entered after every earlier one has ended starts a
    spell (+1 on its local entry day), a stay after which the next starts later ends one
    (-1 on its local leaving day); the running sum is the size. A spell entered before
    `start` counts from `start`.
    """
    if by not in GROUPS:
        raise ValueError(f"pool_size_series by {by!r}")
    zone = pool_zone()
    first = datetime.combine(start, time.min, tzinfo=zone)
    after = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    ops, qn = connection.ops, connection.ops.quote_name
    entry_day, entry_params = ops.datetime_cast_date_sql("e", (), zone.key)
    left_day, left_params = ops.datetime_cast_date_sql("upto", (), zone.key)
    only_kind = "AND m.kind = %s" if kind else ""
    joined = (
        f"JOIN {qn(Customer._meta.db_table)} c ON c.id = m.customer_id"
        if GROUPS[by].startswith("c.")
        else ""
    )
    sql = f"""
        WITH s AS (
            SELECT m.customer_id AS cid, {GROUPS[by]} AS g, m.entered_at AS e,
                   COALESCE(m.left_at, %s) AS l
            FROM {qn(PoolMember._meta.db_table)} m {joined}
            WHERE m.entered_at < %s AND (m.left_at IS NULL OR m.left_at >= %s) {only_kind}
        ), w AS (
            SELECT g, e,
                MAX(l) OVER (by_entry ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before,
                MAX(l) OVER (by_entry ROWS UNBOUNDED PRECEDING) AS upto,
                LEAD(e) OVER by_entry AS next_e
            FROM s
            WINDOW by_entry AS (PARTITION BY cid, g ORDER BY e, l)
        )
        SELECT g, 1, {entry_day}, COUNT(*) FROM w
        WHERE before IS NULL OR e > before GROUP BY 1, 3
        UNION ALL
        SELECT g, -1, {left_day}, COUNT(*) FROM w
        WHERE (next_e IS NULL OR next_e > upto) AND upto < %s GROUP BY 1, 3
    """  # noqa: S608 (names from model meta; the group expression from GROUPS)
    params: list[Any] = [FOREVER, after, first, *([kind] if kind else [])]
    params += [*entry_params, *left_params, after]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    changes: dict[str, dict[date, int]] = {}
    for key, sign, day, n in rows:
        day = day if isinstance(day, date) else date.fromisoformat(day)
        per_day = changes.setdefault(key or "", {})
        per_day[max(day, start)] = per_day.get(max(day, start), 0) + sign * n
    series = []
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    totals = dict.fromkeys(changes, 0)
    for day in days:
        for key in sorted(changes):
            totals[key] += changes[key].get(day, 0)
            series.append(PoolCount(day, key, totals[key]))
    return series
