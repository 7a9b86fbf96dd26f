"""Run everything for a local demo: migrate, seed, then web, worker, beat and the SMS simulator.

The console is quiet by default: the periodic tasks (the once-a-second relay, the
ten-second dispatcher...) log their ticks at debug level (nps/logfilters.py), the
worker's banner is left out;
`--verbose` shows both. SIGTERM (a process manager, `timeout`) and Ctrl-C stop every
child before `up` exits.
"""

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from nps.management.commands.seed_demo import DEMO_PASSWORD, DEMO_TOKEN
from surveys.gateways.registry import gateway_is_enabled

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Migrate, load demo data and run web, Celery worker, Celery beat and the SMS simulator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--simulator-port", type=int, default=8025)
        parser.add_argument("--no-auto-reply", action="store_true", help="simulator waits for you")
        parser.add_argument(
            "--mix", default="60,25,15", help="simulator's promoter,passive,detractor weights"
        )
        parser.add_argument("--no-history", action="store_true", help="seed without 90 days")
        parser.add_argument(
            "--verbose", action="store_true", help="also the periodic tasks' ticks, at debug"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # From the start: a stop during migrate or seeding must not leave children behind.
        for stop in STOP_SIGNALS:
            signal.signal(stop, _interrupt)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", no_history=options["no_history"])
        web = f"http://127.0.0.1:{options['port']}"
        sim = f"http://127.0.0.1:{options['simulator_port']}"
        env = {**os.environ, "SIMULATOR_URL": sim}
        if options["verbose"]:
            env["LOG_LEVEL"] = "DEBUG"
        procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for name, command in self._commands(web, options).items():
                # Each child leads its own process group: Ctrl-C reaches `up` alone, which
                # stops them in order, and a child that will not stop goes with its own
                # children (the worker's pool) when its group is killed.
                procs[name] = subprocess.Popen(command, env=env, start_new_session=True)  # noqa: S603
            self._banner(web, sim, options)
            self._supervise(procs)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop(procs)

    def _commands(self, web: str, options: dict[str, Any]) -> dict[str, list[str]]:
        python, manage = sys.executable, str(settings.BASE_DIR / "manage.py")
        simulator = [python, manage, "run_simulator", "--port", str(options["simulator_port"])]
        simulator += ["--webhook-base", web, "--mix", options["mix"]]
        simulator += ["--no-auto-reply"] if options["no_auto_reply"] else []
        level = "debug" if options["verbose"] else "info"
        celery = [python, "-m", "celery", "-A", "nps"] + ([] if options["verbose"] else ["-q"])
        commands = {
            "web": [python, manage, "runserver", f"127.0.0.1:{options['port']}", "--noreload"],
            "worker": [*celery, "worker", "-l", level, "-c", "2"],
            "beat": [*celery, "beat", "-l", level],
            "simulator": simulator,
        }
        if gateway_is_enabled("smpp"):  # the SMPP gateway process, and a loopback SMS centre
            smpp = settings.NPS_GATEWAYS["smpp"]
            if smpp["CHANNEL_URL"].startswith("memory://"):
                raise CommandError(
                    "the SMPP gateway needs Redis: set CELERY_BROKER_URL to redis://"
                )
            if smpp["HOST"] in ("127.0.0.1", "localhost"):
                simulator += ["--smpp-port", str(smpp["PORT"])]
            commands["smpp"] = [python, manage, "run_smpp"]
        return commands

    def _banner(self, web: str, sim: str, options: dict[str, Any]) -> None:
        if options["no_auto_reply"]:
            replies = "auto-reply off: answer each survey by hand on its page"
        else:
            replies = (
                f"auto-replies after 2 s, promoter/passive/detractor mix {options['mix']};"
                " you can also answer by hand"
            )
        lines = [
            f"Admin (staff):      {web}/admin/   login admin / {DEMO_PASSWORD}",
            f"Cases:              {web}/admin/followups/case/   supervisor, team leads"
            f" north_lead, east_lead, national_lead / {DEMO_PASSWORD}",
            f"My cases (agents):  {web}/admin/followups/case/mine/   north1, north2, east1,"
            f" east2, national1, national2 / {DEMO_PASSWORD}",
            f"Dashboard:          {web}/dashboard/   supervisor or a team lead",
            f"API:                POST {web}/api/v1/interactions/  header "
            f"'Authorization: Token {DEMO_TOKEN}'",
            f"API schema:         {web}/api/v1/schema/",
            f"SMS simulator:      {sim}/   ({replies})",
            "Stop everything with Ctrl-C.",
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(["", *lines, ""])))

    def _supervise(self, procs: dict[str, subprocess.Popen[bytes]]) -> None:
        while all(p.poll() is None for p in procs.values()):
            time.sleep(0.5)
        dead = [n for n, p in procs.items() if p.poll() is not None]
        self.stderr.write(f"{', '.join(dead)} stopped; stopping the rest.")

    def _stop(self, procs: dict[str, subprocess.Popen[bytes]]) -> None:
        for stop in STOP_SIGNALS:  # a second Ctrl-C must not cut the shutdown short
            signal.signal(stop, signal.SIG_IGN)
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
