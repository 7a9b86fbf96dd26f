"""The README's "Try the loop" example, as posted there: after the survey, the answer and
one run of the minute's rollup refresh, it shows in the dashboard's funnel and in the
team breakdown (the North team covers BJ)."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client, override_settings

from followups.models import Team
from nps.management.commands.seed_demo import DEMO_TOKEN
from nps.reporting.contract import Filters
from nps.reporting.days import local_today
from nps.reporting.queries import funnel, nps_breakdown
from nps.tasks import refresh_rollups
from surveys.dispatch import invitation_send
from surveys.gateways.base import InboundSMS
from surveys.models import Invitation
from surveys.replies import reply_process, reply_store

pytestmark = pytest.mark.django_db
README = Path(__file__).resolve().parents[1] / "README.md"
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def readme_payload(now: datetime) -> dict[str, Any]:
    """The body of the README's curl, with $NOW as the shell would fill it in."""
    body = re.search(r"-d '(\{.*?\})'\n", README.read_text(), re.DOTALL)
    assert body, "README: no curl -d '{...}' example"
    return dict(json.loads(body.group(1).replace('"\'"$NOW"\'"', f'"{now:%Y-%m-%dT%H:%M:%SZ}"')))


@override_settings(NPS_SEND_GATEWAY="console")
def test_the_readme_example_shows_in_the_funnel_and_the_team_breakdown(client: Client) -> None:
    call_command("seed_demo", "--no-history")
    with time_machine.travel(NOW, tick=False):
        answer = client.post(
            "/api/v1/interactions/",
            readme_payload(NOW),
            content_type="application/json",
            headers={"Authorization": f"Token {DEMO_TOKEN}"},
        )
        assert answer.status_code == 201, answer.content
        invitation = Invitation.objects.get()
        invitation_send(invitation_id=invitation.pk)
        sms = InboundSMS("MO-1", invitation.customer.phone, "3")
        reply_process(message_id=reply_store(gateway="simulator", sms=sms).message.pk)
        refresh_rollups()  # what beat runs every NPS_ROLLUP_REFRESH_SECONDS
        today = local_today()

    north = Team.objects.get(name="North callback team")
    flow = funnel(Filters(start=today, end=today, team_id=north.pk))
    assert (flow.interactions, flow.sent, flow.responded) == (1, 1, 1)
    by_team = dict(nps_breakdown(Filters(start=today, end=today), dimension="team"))
    assert by_team[str(north.pk)].detractors == 1
