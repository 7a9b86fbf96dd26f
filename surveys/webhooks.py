"""Gateway webhooks: verify, store raw in one service call, acknowledge at once.

Processing happens later in Celery: these views publish nothing; the outbox relay
(surveys/relay.py) queues the stored rows in batches, again if a batch was lost.
Plain Django views, not DRF: the gateway's format, not ours.
"""

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.test.utils import override_settings  # how Django loads another middleware list
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from surveys.gateways.base import Gateway, MalformedPayload, get_gateway
from surveys.receipts import receipt_store
from surveys.replies import reply_store

log = logging.getLogger(__name__)


def _refuse(status: int, error: str) -> JsonResponse:
    return JsonResponse({"error": error}, status=status)


def _checked(request: HttpRequest, slug: str) -> Gateway | HttpResponse:
    gateway = get_gateway(slug)
    if gateway is None:
        return _refuse(404, f"unknown gateway {slug!r}")
    if request.method not in gateway.webhook_methods:  # Vonage may call with GET; most POST
        return HttpResponseNotAllowed(gateway.webhook_methods)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refuse(400, "invalid Content-Length")
    if length > settings.NPS_WEBHOOK_MAX_BYTES:  # refused before reading the body
        return _refuse(413, f"body larger than {settings.NPS_WEBHOOK_MAX_BYTES} bytes")
    if not gateway.verify(request):
        log.warning("webhook %s: bad signature from %s", slug, request.META.get("REMOTE_ADDR"))
        return _refuse(403, "invalid signature")
    return gateway


@csrf_exempt
@require_http_methods(["GET", "POST"])
def inbound(request: HttpRequest, gateway: str) -> HttpResponse:
    checked = _checked(request, gateway)
    if isinstance(checked, HttpResponse):
        return checked
    try:
        for sms in checked.parse_inbound(request):
            reply_store(gateway=checked.slug, sms=sms)
    except MalformedPayload as exc:
        return _refuse(400, str(exc))
    return checked.acknowledge(request)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def status(request: HttpRequest, gateway: str) -> HttpResponse:
    checked = _checked(request, gateway)
    if isinstance(checked, HttpResponse):
        return checked
    try:
        for report in checked.parse_status(request):
            receipt_store(gateway=checked.slug, report=report)
    except MalformedPayload as exc:
        return _refuse(400, str(exc))
    return checked.acknowledge(request)


# ---------------------------------------------------------------- the webhooks' own stack

WEBHOOK_PREFIX = "/webhooks/"  # nps/urls.py: every gateway's inbound and status URL
# What a gateway's webhook does not pass of settings.MIDDLEWARE: it has no session, user,
# language, time zone, login, message or page, asks for no static file, and CSRF does not
# apply (the views are exempt). The rest (security, common, anything added later) it
# passes as every request does. Three webhook requests per reply (the reply, two
# receipts): the skipped ones were about a sixth of Django's CPU per webhook request
# (bench/loop_stages.py).
WEBHOOK_SKIPS = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.locale.LocaleMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "followups.timezones.UserTimeZoneMiddleware",
        "followups.landing.LandingMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "axes.middleware.AxesMiddleware",
    }
)

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def webhook_middleware() -> list[str]:
    """settings.MIDDLEWARE without what a webhook skips (WEBHOOK_SKIPS)."""
    return [path for path in settings.MIDDLEWARE if path not in WEBHOOK_SKIPS]


def with_webhooks(site: WSGIApplication) -> WSGIApplication:
    """The WSGI application (nps/wsgi.py): requests under WEBHOOK_PREFIX through Django
    with webhook_middleware(), every other through `site` (the whole stack)."""
    with override_settings(MIDDLEWARE=webhook_middleware()):
        webhooks = WSGIHandler()  # its middleware is loaded here, once, at start

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO", "").startswith(WEBHOOK_PREFIX):
            return webhooks(environ, start_response)
        return site(environ, start_response)

    return application
