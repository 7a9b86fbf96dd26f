"""Health checks: is the system doing its work, not only answering?

`/health/` runs every check and answers 200 when all pass, 503 when one fails, with a
JSON object of each check's outcome; `/health/web/` runs only the checks a web process
needs to serve (database, broker), for a load balancer: a web node should leave the pool
for what it can fix, not because beat stopped. The checks are django-health-check's
(database, Redis) and our own on its `HealthCheck` base (the filesystem broker, beat's
heartbeat, the outbox relay's lag, the oldest unprocessed reply). Thresholds are settings
(NPS_HEALTH_*). An answer names checks, ages and counts only: never a phone, a message,
a host name or a password (a library check's own text is replaced by a fixed one).
"""

import asyncio
import dataclasses
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from health_check.base import HealthCheck, HealthCheckResult
from health_check.checks import Database
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from redis.asyncio import Redis as RedisClient

from nps.heartbeat import heartbeat_last
from surveys.models import DeliveryReceipt, InboundMessage
from surveys.relay import outbox_oldest_unprocessed, outbox_oldest_unrelayed

OUTBOX = (InboundMessage, DeliveryReceipt)
PROBE_SECONDS = 2  # a load balancer probes every few seconds: a hung check must not pile up


def age_seconds(since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (timezone.now() - since).total_seconds())


class OwnConnection:
    """Checks run in a thread of their own: close its database connection when done, or
    every probe would leave one open until the thread is collected."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        connections.close_all()


@dataclasses.dataclass
class DatabaseCheck(Database):
    name: ClassVar[str] = "database"


@dataclasses.dataclass
class RedisBrokerCheck(Redis):
    name: ClassVar[str] = "broker"


@dataclasses.dataclass
class FilesystemBrokerCheck(HealthCheck):
    """The embedded broker: its message folder exists and this process may write to it."""

    name: ClassVar[str] = "broker"

    def run(self) -> None:
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise ServiceUnavailable("the broker's folder is missing or not writable")


@dataclasses.dataclass
class BeatHeartbeatCheck(HealthCheck):
    """Beat's last heartbeat (nps.heartbeat) is at most NPS_HEALTH_BEAT_MAX_AGE old."""

    name: ClassVar[str] = "beat"

    def run(self) -> None:
        last = heartbeat_last()
        if last is None:
            raise ServiceUnavailable("no heartbeat from beat")
        age = age_seconds(last)
        if age > settings.NPS_HEALTH_BEAT_MAX_AGE:
            raise ServiceUnavailable(f"last heartbeat {age:.0f} s ago")


@dataclasses.dataclass
class RelayLagCheck(HealthCheck):
    """The oldest stored reply or receipt nobody has queued is at most
    NPS_HEALTH_RELAY_LAG_MAX old (the relay runs every NPS_RELAY_INTERVAL seconds)."""

    name: ClassVar[str] = "relay"

    def run(self) -> None:
        with OwnConnection():
            lag = max(age_seconds(outbox_oldest_unrelayed(m)) for m in OUTBOX)
        if lag > settings.NPS_HEALTH_RELAY_LAG_MAX:
            raise ServiceUnavailable(f"relay lag {lag:.0f} s")


@dataclasses.dataclass
class OldestReplyCheck(HealthCheck):
    """The oldest reply not processed yet arrived at most NPS_HEALTH_REPLY_AGE_MAX ago."""

    name: ClassVar[str] = "replies"

    def run(self) -> None:
        with OwnConnection():
            age = age_seconds(outbox_oldest_unprocessed(InboundMessage))
        if age > settings.NPS_HEALTH_REPLY_AGE_MAX:
            raise ServiceUnavailable(f"oldest unprocessed reply {age:.0f} s old")


def broker_check() -> HealthCheck:
    """Redis's ping (django-health-check) on Redis; the folder check on the embedded broker."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem"):
        return FilesystemBrokerCheck()
    return RedisBrokerCheck(
        client_factory=lambda: RedisClient.from_url(
            url, socket_connect_timeout=PROBE_SECONDS, socket_timeout=PROBE_SECONDS
        )
    )


def health_checks(*, web_only: bool) -> list[HealthCheck]:
    checks = [DatabaseCheck(), broker_check()]
    if not web_only:
        checks += [BeatHeartbeatCheck(), RelayLagCheck(), OldestReplyCheck()]
    for check in checks:
        check.timeout = timedelta(seconds=PROBE_SECONDS)
    return checks


def outcome(result: HealthCheckResult) -> dict[str, Any]:
    """One check's entry in the answer. Our own checks' messages are ages; a library check's
    could carry a driver's text (a host name), so only its kind is kept."""
    error = result.error
    detail = "ok"
    if error is not None:
        library = isinstance(result.check, DatabaseCheck | RedisBrokerCheck)
        detail = error.message_type.lower() if library else str(error.message)
    return {"healthy": error is None, "detail": detail, "seconds": round(result.time_taken, 3)}


class HealthView(HealthCheckView):
    """200 when every check passes, else 503; JSON whatever the Accept header says."""

    web_only = False

    def get_checks(self) -> Iterator[HealthCheck]:
        yield from health_checks(web_only=self.web_only)

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        with self.get_executor() as executor:
            results = await asyncio.gather(*(c.get_result(executor) for c in self.get_checks()))
        checks = {type(r.check).name: outcome(r) for r in results}
        healthy = all(entry["healthy"] for entry in checks.values())
        return JsonResponse({"healthy": healthy, "checks": checks}, status=200 if healthy else 503)
