"""Two schedulers evaluating the same rules at once (PostgreSQL pass): each condition is
raised once, emailed once and delivered to the webhook once."""

import threading

import pytest
from django.core import mail
from django.db import connection, connections

from nps import alerts
from nps.models import Alert, EventType, WebhookDelivery
from nps.outbound import events, sending
from tests.nps.alerts_world import TODAY, Fact, facts_write, rule, tree
from tests.nps.fakes import Fake, serving
from tests.nps.outbound_world import subscription

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="inserts racing on a unique index: PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


def test_two_schedulers_at_once_raise_email_and_deliver_each_condition_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "task_queue", lambda *a, **kw: None)
    monkeypatch.setattr(sending, "task_queue", lambda *a, **kw: None)
    t = tree()
    facts_write(
        Fact(TODAY, 0, 0, 40, dims={"unit_id": t.store1.pk}),
        Fact(TODAY, 0, 0, 40, dims={"unit_id": t.store3.pk}),
    )
    rule()  # stores 1 and 3, cities 1 and 2, the province: five conditions
    with serving(Fake("generic", secret="s3cret")) as receiver:
        subscription(receiver.url, secret="s3cret", events=[EventType.ALERT_RAISED])
        start = threading.Barrier(2)
        raised: list[int] = []
        errors: list[BaseException] = []

        def scheduler() -> None:
            try:
                start.wait()
                found = alerts.alerts_evaluate(today=TODAY)
                raised.append(len(found))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=scheduler) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        sending.deliveries_send(ids=sending.deliveries_due())
    assert sum(raised) == 5
    assert Alert.objects.count() == 5
    # Both walk the conditions in the same order: the loser waits on the first insert
    # until the winner commits, then finds every one raised. One message, in two languages.
    [message] = mail.outbox
    for place in ("Store 1", "Store 3", "City 1", "City 2", "Province"):
        assert message.body.count(place) == 2
    assert WebhookDelivery.objects.count() == 5
    assert len(receiver.accepted) == 5
    assert len({m["data"]["alert_id"] for m in receiver.accepted}) == 5
