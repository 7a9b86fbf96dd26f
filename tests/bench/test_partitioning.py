"""bench/partitioning.py's conversion to monthly partitions, and bench/freshness.py's delays."""

from datetime import UTC, date, datetime

import pytest
from django.db import ProgrammingError, connection, transaction

from bench.freshness import delays
from bench.partitioning import month_starts, partition_by_month, partition_name
from surveys.gateways.base import InboundSMS
from surveys.models import InboundMessage
from surveys.replies import reply_store


def test_month_starts_cover_both_ends_and_the_month_after() -> None:
    assert month_starts(date(2025, 11, 19), date(2026, 2, 3)) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]


def test_delays_match_the_nth_answer_to_the_first_read_counting_n() -> None:
    posted = [10.0, 11.0, 12.0]
    reads = [(10.5, 5), (30.0, 6), (70.0, 8), (80.0, 8)]  # baseline 5: one, then two more
    assert delays(posted, reads, baseline=5) == [20.0, 59.0, 58.0]


def test_delays_leave_out_answers_never_counted() -> None:
    assert delays([1.0, 2.0], [(3.0, 1)], baseline=0) == [2.0]


def _message(message_id: str, at: datetime) -> InboundMessage:
    message = InboundMessage.objects.create(
        gateway="simulator",
        gateway_message_id=message_id,
        phone="+8613800000000",
        text="9",
        payload={},
    )
    InboundMessage.objects.filter(pk=message.pk).update(received_at=at)  # auto_now_add
    return message


@pytest.mark.skipif(connection.vendor != "postgresql", reason="declarative partitioning")
@pytest.mark.django_db
def test_conversion_keeps_the_rows_and_ids_and_a_month_drops_whole() -> None:
    october = _message("MO1", datetime(2026, 10, 5, tzinfo=UTC))
    november = _message("MO2", datetime(2026, 11, 5, tzinfo=UTC))
    with connection.cursor() as cursor:
        done = partition_by_month(
            cursor,
            "surveys_inboundmessage",
            "received_at",
            month_starts(date(2026, 10, 1), date(2026, 12, 1)),
        )
        assert (done.rows, done.partitions) == (2, 3)
        # Foreign keys to the table cannot stay: they need a unique id alone.
        assert any(name.startswith("surveys_response.") for name in done.dropped_foreign_keys)
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'surveys_inboundmessage'::regclass "
            "AND i.indisprimary ORDER BY a.attname"
        )
        assert [row[0] for row in cursor.fetchall()] == ["id", "received_at"]
    assert set(InboundMessage.objects.values_list("pk", "gateway_message_id")) == {
        (october.pk, "MO1"),
        (november.pk, "MO2"),
    }
    later = _message("MO3", datetime(2026, 12, 2, tzinfo=UTC))
    assert later.pk > november.pk  # the sequence goes on after the copied ids
    with connection.cursor() as cursor:
        part = partition_name("surveys_inboundmessage", date(2026, 10, 1))
        cursor.execute(f"ALTER TABLE surveys_inboundmessage DETACH PARTITION {part}")
        cursor.execute(f"DROP TABLE {part}")
    assert sorted(InboundMessage.objects.values_list("gateway_message_id", flat=True)) == [
        "MO2",
        "MO3",
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="declarative partitioning")
@pytest.mark.django_db
def test_the_webhook_store_needs_its_unique_id_and_partitions_take_it_away() -> None:
    with connection.cursor() as cursor:
        partition_by_month(
            cursor,
            "surveys_inboundmessage",
            "received_at",
            month_starts(datetime.now(UTC).date(), datetime.now(UTC).date()),
        )
    sms = InboundSMS("MO9", "+8613800000009", "9")
    with pytest.raises(ProgrammingError, match="ON CONFLICT"), transaction.atomic():
        reply_store(gateway="simulator", sms=sms)
