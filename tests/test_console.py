"""The console says what happens, not the clock: periodic ticks at debug, a 403 in one line."""

import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client

RELAY_TICK = "Scheduler: Sending due task relay-outbox (surveys.tasks.relay_outbox)"


def test_a_periodic_tasks_ticks_are_debug_lines(caplog: pytest.LogCaptureFixture) -> None:
    beat = logging.getLogger("celery.beat")
    with caplog.at_level(logging.INFO):
        beat.info(RELAY_TICK)
        beat.info("Scheduler: Sending due task adhoc (surveys.tasks.send_invitation)")
    assert [r.getMessage() for r in caplog.records] == [
        "Scheduler: Sending due task adhoc (surveys.tasks.send_invitation)"
    ]
    with caplog.at_level(logging.DEBUG):
        beat.info(RELAY_TICK)
    assert (caplog.records[-1].levelname, caplog.records[-1].getMessage()) == (
        "DEBUG",
        RELAY_TICK,
    )


def test_the_embedded_brokers_missing_host_name_is_no_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    kombu = logging.getLogger("kombu.connection")
    with caplog.at_level(logging.INFO):
        kombu.warning("No hostname was supplied. Reverting to default 'localhost'")
        kombu.warning("Connection refused, retrying")
    assert [r.getMessage() for r in caplog.records] == ["Connection refused, retrying"]


@pytest.mark.django_db
def test_a_page_a_role_may_not_see_is_one_warning_line_without_traceback(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    client.force_login(User.objects.create_user("someone", is_staff=False))
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/dashboard/").status_code == 403
    forbidden = [r for r in caplog.records if r.name == "django.request"]
    assert [r.levelname for r in forbidden] == ["WARNING"]
    assert forbidden[0].exc_info is None
    assert "Traceback" not in caplog.text
