"""The SMS gateway interface: send; verify a webhook; parse inbound and receipts; acknowledge.

Adapters are registered in settings.NPS_GATEWAYS (slug -> {"CLASS": dotted path, ...});
only those named in settings.NPS_ENABLED_GATEWAYS are used (surveys/gateways/registry.py).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from surveys.gateways.registry import gateway_is_enabled
from surveys.jsonbodies import TooDeep, json_body_load


class GatewayError(Exception):
    """The send may succeed if tried again later (timeouts, 429, 5xx)."""

    permanent = False


class PermanentGatewayError(GatewayError):
    """Trying again will not help (bad number, rejected credentials, 4xx)."""

    permanent = True


class MalformedPayload(ValueError):
    """A signed request whose body we cannot read: answered 400."""


@dataclass(frozen=True)
class InboundSMS:
    message_id: str
    phone: str
    text: str
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusReport:
    provider_message_id: str
    status: str  # sent / delivered / failed, mapped once per format (gateways/statuses.py)
    reference: str = ""
    error: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str


@dataclass(frozen=True)
class Composed:
    """What one SMS says: its text, and what a template gateway needs to send it instead.

    `kind` is a surveys.models.TemplateKind value (the survey question, a link survey's
    SMS, or a conversation message's OutboundKind); `values` are the text's named values
    a template may carry as parameters (link, hours)."""

    text: str
    kind: str
    language: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TemplateCall:
    """An approved template sent in place of free text (providers in China send only these):
    the provider's template code and its parameters, in the template's order."""

    code: str
    params: dict[str, str]


class Gateway(ABC):
    # True for providers that send only approved templates (Alibaba, Tencent): the kit
    # passes each send its TemplateCall (surveys/gatewaytemplates.py).
    uses_templates: ClassVar[bool] = False
    # The HTTP methods the gateway calls its webhooks with (surveys/webhooks.py answers
    # any other with 405): POST for most; Vonage calls with GET or POST, as configured.
    webhook_methods: ClassVar[tuple[str, ...]] = ("POST",)

    def __init__(self, slug: str, config: dict[str, Any]) -> None:
        self.slug = slug
        self.config = config

    @abstractmethod
    def send(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> SendResult:
        """Send one SMS. `reference` is our idempotency key where the provider keeps one;
        `template` is given to a gateway that uses_templates, and to it only."""

    @abstractmethod
    def verify(self, request: HttpRequest) -> bool:
        """True when the webhook request really comes from this gateway."""

    @abstractmethod
    def parse_inbound(self, request: HttpRequest) -> list[InboundSMS]: ...

    @abstractmethod
    def parse_status(self, request: HttpRequest) -> list[StatusReport]:
        """The reports worth storing; none for an interim or unknown status (still 200)."""

    def acknowledge(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=200)


def get_gateway(slug: str) -> Gateway | None:
    """The adapter for an enabled slug, built from settings each time (follows setting changes)."""
    if not gateway_is_enabled(slug):
        return None
    config = settings.NPS_GATEWAYS[slug]
    return import_string(config["CLASS"])(slug, config)


def sending_gateway() -> Gateway:
    gateway = get_gateway(settings.NPS_SEND_GATEWAY)
    if gateway is None:
        raise LookupError(f"NPS_SEND_GATEWAY={settings.NPS_SEND_GATEWAY!r} is not enabled")
    return gateway


def parse_json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"body is not UTF-8 JSON: {exc}") from exc
    try:
        data = json_body_load(text)  # the API's rule: nesting limited, no NaN
    except TooDeep as exc:
        raise MalformedPayload(str(exc)) from exc
    except ValueError as exc:
        raise MalformedPayload(f"body is not UTF-8 JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedPayload("body must be a JSON object")
    return without_nul(data)


def without_nul(value: Any) -> Any:
    """Drop NUL characters: PostgreSQL text and jsonb cannot hold them, and no SMS means one."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def require_str(data: dict[str, Any], key: str, *, max_length: int = 2000) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MalformedPayload(f"field {key!r} is required and must be a string")
    if len(value) > max_length:
        raise MalformedPayload(f"field {key!r} is longer than {max_length} characters")
    return value
