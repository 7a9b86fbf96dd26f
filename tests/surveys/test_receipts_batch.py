"""Receipts applied a chunk at a time land as they would one by one.

A chunk decides every move under the sends' locks by the forward-only table and writes
the plain ones together; two receipts for one send in the same chunk, a receipt after a
failure, and a receipt that overtook our record of the send all give what applying them
one at a time gives.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from surveys.gateways.base import StatusReport
from surveys.models import Customer, OutboundKind, OutboundMessage
from surveys.receipts import receipt_apply, receipt_store, receipts_apply

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)

# Per send: its status when the receipts come, then the receipts in arrival order.
SENDS: list[tuple[str, list[str]]] = [
    ("sent", ["delivered"]),
    ("sent", ["sent", "delivered"]),  # the first is no move, the second is
    ("sent", ["delivered", "failed"]),  # nothing goes back from delivered
    ("sent", ["failed", "delivered"]),  # nor from failed
    ("sending", ["sent", "delivered"]),  # both overtook our record: its facts come with them
    ("sending", ["failed"]),
    ("delivered", ["sent"]),
    ("queued", ["delivered"]),  # not sent yet: no move
]


def _message(phone: str, status: str, provider_message_id: str) -> OutboundMessage:
    """A conversation SMS in `status`; one still sending has no gateway id yet."""
    return OutboundMessage.objects.create(
        customer=Customer.objects.create(phone=phone),
        kind=OutboundKind.HELP,
        text="帮助",
        status=status,
        gateway="simulator" if status != "sending" else "",
        provider_message_id=provider_message_id if status != "sending" else "",
    )


def _sends(prefix: str) -> list[OutboundMessage]:
    return [
        _message(f"+86137{prefix}{n:07d}", status, f"SM-{prefix}-{n}")
        for n, (status, _) in enumerate(SENDS)
    ]


def _receipts(rows: list[OutboundMessage], prefix: str) -> list[int]:
    ids = []
    for n, ((_, statuses), row) in enumerate(zip(SENDS, rows, strict=True)):
        for status in statuses:
            report = StatusReport(
                provider_message_id=f"SM-{prefix}-{n}",
                status=status,
                reference=f"msg-{row.pk}",
                error="absent subscriber" if status == "failed" else "",
                raw={},
            )
            ids.append(receipt_store(gateway="simulator", report=report).receipt.pk)
    return ids


def _state(rows: list[OutboundMessage]) -> list[tuple[Any, ...]]:
    result = []
    for row in rows:
        row.refresh_from_db()
        result.append(
            (
                row.status,
                row.provider_message_id.split("-")[-1],
                row.gateway,
                row.sent_at,
                row.failure_reason,
            )
        )
    return result


def test_a_chunk_of_receipts_lands_as_one_at_a_time() -> None:
    with time_machine.travel(NOW, tick=False):
        one_by_one, chunk = _sends("1"), _sends("2")
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        singles = [receipt_apply(receipt_id=pk) for pk in _receipts(one_by_one, "1")]
        together = receipts_apply(receipt_ids=_receipts(chunk, "2"))

    assert together == singles
    assert _state(chunk) == _state(one_by_one)
    assert [status for status, *_ in _state(chunk)] == [
        "delivered",
        "delivered",
        "delivered",
        "failed",
        "delivered",
        "failed",
        "delivered",
        "queued",
    ]
    overtaken = chunk[4]
    assert (overtaken.gateway, overtaken.sent_at) == ("simulator", NOW + timedelta(seconds=5))
    assert together.count("unmatched") == 0
    assert together.count("ignored") == 5


def test_plain_receipts_are_written_together(django_assert_max_num_queries: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        rows = [_message(f"+8613600{n:06d}", "sent", f"SM-many-{n}") for n in range(30)]
        ids = [
            receipt_store(
                gateway="simulator",
                report=StatusReport(f"SM-many-{n}", "delivered", f"msg-{row.pk}", "", {}),
            ).receipt.pk
            for n, row in enumerate(rows)
        ]
        with django_assert_max_num_queries(15):
            assert receipts_apply(receipt_ids=ids) == ["applied"] * 30
    assert OutboundMessage.objects.filter(status="delivered").count() == 30
