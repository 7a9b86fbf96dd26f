"""Run the SMS gateway simulator with the address and keys from NPS_GATEWAYS["simulator"],
and with --smpp-port its SMS centre speaking SMPP (devtools/simulator/smsc.py)."""

import argparse
import urllib.parse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools.simulator.server import SimulatorConfig, serve
from devtools.simulator.smsc import Smsc


class Command(BaseCommand):
    help = "Run the SMS gateway simulator: takes our SMS, sends receipts and customer replies back."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, help="default: the port of the simulator URL")
        parser.add_argument("--webhook-base", default="http://127.0.0.1:8000")
        parser.add_argument("--auto-reply", action=argparse.BooleanOptionalAction, default=True)
        parser.add_argument("--mix", default="60,25,15", help="promoter,passive,detractor weights")
        parser.add_argument("--reply-delay", type=float, default=2.0, help="seconds")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--smpp-port",
            type=int,
            default=None,
            help="also an SMS centre speaking SMPP on this port (system id and password "
            "from NPS_GATEWAYS['smpp'])",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        gateway = settings.NPS_GATEWAYS["simulator"]
        url = urllib.parse.urlsplit(gateway["URL"])
        try:
            config = SimulatorConfig(
                host=url.hostname or "127.0.0.1",
                port=options["port"] if options["port"] is not None else url.port or 8025,
                api_key=gateway["API_KEY"],
                secret=gateway["SECRET"],
                webhook_base=options["webhook_base"],
                auto_reply=options["auto_reply"],
                mix=options["mix"],
                reply_delay=options["reply_delay"],
                seed=options["seed"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["smpp_port"] is not None:
            smpp = settings.NPS_GATEWAYS["smpp"]
            smsc = Smsc(
                system_id=smpp["SYSTEM_ID"],
                password=smpp["PASSWORD"],
                host=config.host,
                port=options["smpp_port"],
                service_number=config.service_number,
            ).start()
            self.stdout.write(f"SMS centre (SMPP 3.4) on {config.host}:{smsc.port}")
        serve(config)
