"""Gateway webhooks: verify, store raw in one service call, acknowledge at once.

Processing happens later in Celery: these views publish nothing; the outbox relay
(surveys/relay.py) queues the stored rows in batches, again if a batch was lost.
Plain Django views, not DRF: the gateway's format, not ours.
"""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
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
