"""Run everything for a local demo: migrate, seed, then web, worker, beat and the SMS simulator."""

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from nps.management.commands.seed_demo import DEMO_PASSWORD, DEMO_TOKEN


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Migrate, load demo data and run web, Celery worker, Celery beat and the SMS simulator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--simulator-port", type=int, default=8025)
        parser.add_argument("--no-auto-reply", action="store_true", help="simulator waits for you")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo")
        web = f"http://127.0.0.1:{options['port']}"
        sim = f"http://127.0.0.1:{options['simulator_port']}"
        env = {**os.environ, "SIMULATOR_URL": sim}
        python, manage = sys.executable, str(settings.BASE_DIR / "manage.py")
        simulator = [python, manage, "run_simulator", "--port", str(options["simulator_port"])]
        simulator += ["--webhook-base", web] + (
            ["--no-auto-reply"] if options["no_auto_reply"] else []
        )
        commands = {
            "web": [python, manage, "runserver", f"127.0.0.1:{options['port']}", "--noreload"],
            "worker": [python, "-m", "celery", "-A", "nps", "worker", "-l", "info", "-c", "2"],
            "beat": [python, "-m", "celery", "-A", "nps", "beat", "-l", "info"],
            "simulator": simulator,
        }
        # SIGTERM (a process manager, `timeout`) stops the children as Ctrl-C does.
        signal.signal(signal.SIGTERM, _interrupt)
        procs = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}  # noqa: S603
        self._banner(web, sim)
        self._supervise(procs)

    def _banner(self, web: str, sim: str) -> None:
        lines = [
            f"Admin (staff):      {web}/admin/   login admin / {DEMO_PASSWORD}",
            f"Supervisor:         supervisor / {DEMO_PASSWORD}",
            f"Team leads:         north_lead, east_lead, national_lead / {DEMO_PASSWORD}",
            f"Agents (My cases):  north1, north2, east1, east2, national1 ... / {DEMO_PASSWORD}",
            f"API:                POST {web}/api/v1/interactions/  header "
            f"'Authorization: Token {DEMO_TOKEN}'",
            f"API schema:         {web}/api/v1/schema/",
            f"SMS simulator:      {sim}/   (auto-replies to surveys; reply by hand there)",
            "Stop everything with Ctrl-C.",
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(["", *lines, ""])))

    def _supervise(self, procs: dict[str, subprocess.Popen[bytes]]) -> None:
        try:
            while all(p.poll() is None for p in procs.values()):
                time.sleep(0.5)
            dead = [n for n, p in procs.items() if p.poll() is not None]
            self.stderr.write(f"{', '.join(dead)} stopped; stopping the rest.")
        except KeyboardInterrupt:
            pass
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs.values():
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
