"""The dissatisfied-customer pool: stays opened for a reason and closed with one.

A customer holds at most one open stay per reason (the partial unique constraint
poolmember_one_open_stay_per_reason); entering again for a reason already open is a no-op.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from care.models import ExitReason, MemberKind, PoolMember, PoolPolicy


def pool_open() -> QuerySet[PoolMember]:
    """The stays that have not ended."""
    return PoolMember.objects.filter(left_at__isnull=True)


def pool_enter(
    *,
    customer_ids: Sequence[int],
    reason: str,
    at: datetime,
    kind: str = MemberKind.EXPLICIT,
    detail: str = "",
    source: str = "",
) -> int:
    """Open a stay for `reason` for each customer without one open; the number opened.

    One INSERT ... ON CONFLICT DO NOTHING RETURNING on the partial unique index: safe
    when two writers enter the same customer at once, and the count is exactly the rows
    this statement inserted (PostgreSQL and SQLite >= 3.35).
    """
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
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
    row = {
        "kind": kind,
        "reason": reason,
        "detail": detail[:200],
        "source": source[:64],
        "entered_at": at,
        "exit_reason": "",
        "factors": [],
    }
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    opened = 0
    for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
        chunk = ids[start : start + 500]
        params: list[Any] = []
        for customer_id in chunk:
            values = {**row, "customer": customer_id}
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
) -> int:
    """Close the customers' open stays (every reason, or only `entry_reasons`); how many closed."""
    ids = list(set(customer_ids))
    if not ids:
        return 0
    stays = pool_open().filter(customer_id__in=ids)
    if entry_reasons is not None:
        stays = stays.filter(reason__in=list(entry_reasons))
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
