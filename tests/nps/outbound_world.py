"""Builders for the outbound webhook tests: answers recorded through the services."""

from datetime import UTC, datetime

from django.utils import timezone

from nps.models import EventType, WebhookKind, WebhookSubscription
from surveys.models import Customer, Invitation, InvitationStatus, Response
from surveys.responses import response_record
from tests.factories import CustomerFactory, InteractionFactory

AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def subscription(
    url: str, *, kind: str = WebhookKind.GENERIC, secret: str = "s3cret",  # noqa: S107 (a test key)
    events: list[str] | None = None, active: bool = True,
) -> WebhookSubscription:  # fmt: skip
    return WebhookSubscription.objects.create(
        name=f"{kind} receiver", url=url, kind=kind, secret=secret, active=active,
        event_types=events if events is not None else list(EventType.values[:-1]),
    )  # fmt: skip


def invitation(*, phone: str = "+8613800138000", touchpoint: str = "hotline") -> Invitation:
    customer = Customer.objects.filter(phone=phone).first() or CustomerFactory(phone=phone)
    interaction = InteractionFactory(customer=customer, touchpoint=touchpoint)
    return Invitation.objects.create(
        interaction=interaction, customer=customer, status=InvitationStatus.SENT,
        gateway="console", provider_message_id=f"msg-{interaction.external_id}",
        sent_at=timezone.now(),
    )  # fmt: skip


def answered(*, score: int = 3, comment: str = "信号差", **kwargs: str) -> Response:
    return response_record(invitation=invitation(**kwargs), score=score, comment=comment)
