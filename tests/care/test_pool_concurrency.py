"""Concurrent entries on a real database: one open stay per customer and reason, and the
counts the writers report add up to the stays that exist."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count

from care.models import PoolMember
from care.pool import pool_enter, pool_leave
from tests.factories import CustomerFactory

THREADS, CUSTOMERS = 8, 40
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so the race cannot happen "
        "there (CI runs it in the PostgreSQL pass)",
    ),
    pytest.mark.django_db(transaction=True),
]


def run_in_parallel(work: Callable[[int], None]) -> list[BaseException]:
    start, errors = threading.Barrier(THREADS), []

    def worker(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_writers_entering_the_same_customers_at_once_open_each_stay_once() -> None:
    ids = [CustomerFactory().pk for _ in range(CUSTOMERS)]
    opened: list[int] = []

    def enter_all_in_a_slow_transaction(n: int) -> None:
        # Each writer holds its insert open a moment, so the others wait on its index entries.
        order = ids if n % 2 else list(reversed(ids))
        with transaction.atomic():
            count = pool_enter(customer_ids=order, reason="detractor", at=T0 + timedelta(seconds=n))
            connection.cursor().execute("SELECT pg_sleep(0.05)")
        opened.append(count)

    assert run_in_parallel(enter_all_in_a_slow_transaction) == []
    assert sum(opened) == CUSTOMERS
    per_customer = PoolMember.objects.values("customer_id").annotate(n=Count("id"))
    assert {row["n"] for row in per_customer} == {1}
    assert len(per_customer) == CUSTOMERS


def test_leaving_and_entering_at_once_keep_one_open_stay_at_most() -> None:
    ids = [CustomerFactory().pk for _ in range(CUSTOMERS)]
    pool_enter(customer_ids=ids, reason="complaint", at=T0)

    def churn(n: int) -> None:
        for round_ in range(5):
            at = T0 + timedelta(minutes=n * 10 + round_)
            if (n + round_) % 2:
                pool_leave(customer_ids=ids, reason="later_answer", at=at)
            else:
                pool_enter(customer_ids=ids, reason="complaint", at=at)

    assert run_in_parallel(churn) == []
    open_per_customer = (
        PoolMember.objects.filter(left_at__isnull=True)
        .values("customer_id")
        .annotate(n=Count("id"))
    )
    assert {row["n"] for row in open_per_customer} <= {1}
