"""Two workers given the same due delivery at once: one sends it (PostgreSQL pass)."""

import threading

import pytest
from django.db import connection, connections

from nps.models import DeliveryStatus, EventType, WebhookDelivery
from nps.outbound import events, sending
from tests.nps.fakes import Fake, serving
from tests.nps.outbound_world import AT, subscription

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row claims under concurrency: PostgreSQL pass"
    ),
    pytest.mark.django_db(transaction=True),
]


def test_eight_workers_racing_for_twenty_deliveries_send_each_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "task_queue", lambda *a, **kw: None)
    with serving(Fake("generic", secret="s3cret")) as fake:
        subscription(fake.url, secret="s3cret", events=[EventType.ALERT_RAISED])
        ids = [
            pk
            for n in range(20)
            for pk in events.event_publish(
                event_type=EventType.ALERT_RAISED, payload={"n": n}, at=AT
            )
        ]
        start = threading.Barrier(8)
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                start.wait()
                sending.deliveries_send(ids=ids)  # every worker tries every row
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert fake.requests == 20
    assert sorted(m["data"]["n"] for m in fake.accepted) == list(range(20))
    rows = WebhookDelivery.objects.filter(pk__in=ids)
    assert set(rows.values_list("status", "attempts")) == {(DeliveryStatus.DELIVERED, 1)}
