"""Faults at the SMS centre, through the real SMPP gateway process and the sending kit.

The loopback SMS centre (devtools/simulator/smsc.py) drops the connection with submits in
flight, or answers ESME_RTHROTTLED; the invitations go out through surveys.sending's
send_many, each worker's send handed to the gateway process over the submit channel.
"""

from collections import Counter
from collections.abc import Iterator
from itertools import pairwise

import pytest
from django.utils import timezone

from surveys.dispatch import SURVEY_SMS
from surveys.interactions import interaction_record
from surveys.models import Invitation, InvitationStatus, Survey
from surveys.sending import send_many
from tests.surveys.smpp_loopback import SmppLoop, smpp_loop, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _invitations(count: int) -> list[Invitation]:
    """Invitations in English: one GSM-7 part each, so a submit is an SMS."""
    for n in range(count):
        interaction_record(
            external_id=f"CRM-SMPP-F{n}",
            customer={"phone": f"+86138001390{n:02d}", "language": "en"},
            touchpoint="hotline",
            occurred_at=timezone.now(),
        )
    return list(Invitation.objects.select_related("customer", "survey").order_by("pk"))


@pytest.fixture
def loop(survey: Survey) -> Iterator[SmppLoop]:
    with smpp_loop(WINDOW=5) as running:
        wait_until(running.session.bound.is_set)
        yield running


def test_a_connection_dropped_with_submits_in_flight_loses_none_and_sends_none_twice(
    loop: SmppLoop,
) -> None:
    """Catches resubmitting answered submits, forgetting unanswered ones, or a new
    reference on the resubmission (the SMS centre would send those twice)."""
    invitations = _invitations(6)
    # Of the next four submits: two answered, two taken but unanswered; then the line drops.
    loop.smsc.drop_after(received=4, answered=2)
    outcomes = send_many(SURVEY_SMS, invitations)
    assert [o.outcome for o in outcomes] == ["sent"] * 6
    assert loop.smsc.binds == 2

    references = [f"inv-{i.pk}" for i in invitations]
    assert sorted(loop.references_accepted()) == sorted(references)  # each exactly once
    seen = Counter(reference for reference, _ in loop.smsc.submits)
    first_two = [reference for reference, _ in loop.smsc.submits[:2]]
    assert all(seen[reference] == 1 for reference in first_two)  # answered: never again
    resubmitted = [reference for reference, _ in loop.smsc.submits[2:4]]
    assert all(seen[reference] == 2 for reference in resubmitted)  # unanswered: once more

    message_ids = {s.reference: s.message_id for s in loop.smsc.accepted}
    for invitation in Invitation.objects.all():
        assert invitation.status in (InvitationStatus.SENT, InvitationStatus.DELIVERED)
        assert invitation.attempts == 1  # recorded once, on the first attempt
        assert invitation.provider_message_id == message_ids[f"inv-{invitation.pk}"]


def test_throttling_answers_slow_the_submits_and_each_sms_goes_once(survey: Survey) -> None:
    """Catches hammering a throttled SMS centre, or dropping the throttled submit."""
    with smpp_loop(WINDOW=1, THROTTLE_SECONDS=0.1) as loop:
        wait_until(loop.session.bound.is_set)
        loop.smsc.throttle(3)
        invitations = _invitations(2)
        outcomes = send_many(SURVEY_SMS, invitations)
        assert [o.outcome for o in outcomes] == ["sent", "sent"]
        assert sorted(loop.references_accepted()) == sorted(f"inv-{i.pk}" for i in invitations)
        submits, times = loop.smsc.submits, loop.smsc.submit_times
        assert len(submits) == 2 + 3  # the throttled one, three times more... then accepted
        assert submits[0] == submits[1] == submits[2] == submits[3]
        gaps = [later - earlier for earlier, later in pairwise(times[:4])]
        # Each throttling answer pauses submits longer: 0.1 s, then 0.2 s, then 0.4 s.
        for gap, pause in zip(gaps, (0.1, 0.2, 0.4), strict=True):
            assert gap >= pause * 0.9, gaps
