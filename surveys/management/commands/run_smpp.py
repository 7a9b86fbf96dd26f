"""Run the SMPP gateway process: the one connection to the SMS centre (surveys/smpp/session.py)."""

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from surveys.gateways.registry import gateway_is_enabled, gateways_refuse_unsafe_start
from surveys.smpp.channel import submit_channel
from surveys.smpp.session import SmppSession

SLUG = "smpp"


class Command(BaseCommand):
    help = "Hold the SMPP connection: submit the workers' SMS, store receipts and replies."

    def handle(self, *args: Any, **options: Any) -> None:
        gateways_refuse_unsafe_start()  # the web and worker processes' guard, here too
        if not gateway_is_enabled(SLUG):
            raise CommandError(f"the {SLUG!r} gateway is not enabled (NPS_GATEWAYS)")
        config = settings.NPS_GATEWAYS[SLUG]
        if config["CHANNEL_URL"].startswith("memory://"):
            raise CommandError(
                "the SMPP gateway needs Redis: set SMPP_CHANNEL_URL (or CELERY_BROKER_URL) "
                "to a redis:// URL, so the workers' sends reach this process"
            )
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        session = SmppSession(
            slug=SLUG,
            config=config,
            channel=submit_channel(config["CHANNEL_URL"], config["CHANNEL_PREFIX"]),
        )
        self.stdout.write(
            f"SMPP gateway: {config['HOST']}:{config['PORT']} as {config['SYSTEM_ID']!r}"
        )
        # The session runs in a thread of its own, so that a signal handled here wakes its
        # waits (a reconnect backoff) at once: it stops within one poll, unbound.
        thread = threading.Thread(target=session.run, args=(stop,), name="smpp-session")
        thread.start()
        while thread.is_alive():
            thread.join(timeout=0.5)
