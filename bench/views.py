"""The baseline: the least a Django view can do to store an inbound message."""

import json

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from surveys.models import InboundMessage


@csrf_exempt
@require_POST
def bare(request: HttpRequest) -> HttpResponse:
    """One row in the webhook's table; no signature, no savepoint, no task queued."""
    data = json.loads(request.body)
    InboundMessage.objects.create(
        gateway="bare",
        gateway_message_id=data["message_id"],
        phone=data["from"],
        text=data["text"],
        payload=data,
    )
    return HttpResponse(status=200)
