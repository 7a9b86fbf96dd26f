"""Outbound webhooks in the admin: the subscriptions (with a test event) and the delivery
log (filters, the body sent and the last error, a replay button). Supervisors and
superusers: followups.permissions.SUPERVISOR_OUTBOUND_PERMISSIONS."""

import json
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from nps.models import EventType, WebhookDelivery, WebhookSubscription
from nps.outbound.events import subscriptions_test
from nps.outbound.sending import deliveries_replay

SUBSCRIBABLE = [(value, label) for value, label in EventType.choices if value != EventType.TEST]


class SubscriptionForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        label=_("events"), choices=SUBSCRIBABLE, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "kind", "url", "event_types", "secret", "active"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ("name", "kind", "host", "events", "active", "created")
    list_filter = ("kind", "active")
    search_fields = ("name",)
    actions = ("send_test_event",)

    @admin.display(description=_("host"))
    def host(self, obj: WebhookSubscription) -> str:
        # The host only: a bot's address carries its key, which the list does not show.
        return urlsplit(obj.url).netloc

    @admin.display(description=_("events"))
    def events(self, obj: WebhookSubscription) -> str:
        labels = dict(EventType.choices)
        return ", ".join(str(labels.get(t, t)) for t in obj.event_types)

    @admin.action(description=_("Send a test event"), permissions=["change"])
    def send_test_event(
        self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]
    ) -> None:
        queued = subscriptions_test(subscription_ids=list(queryset.values_list("pk", flat=True)))
        text = ngettext(
            "%(count)d test event queued; see the delivery log.",
            "%(count)d test events queued; see the delivery log.",
            len(queued),
        ) % {"count": len(queued)}
        self.message_user(request, text, messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created", "event_type", "subscription", "status", "attempts",
                    "last_status_code", "next_attempt_at", "delivered_at")  # fmt: skip
    list_filter = ("status", "event_type", "subscription")
    list_select_related = ("subscription",)
    search_fields = ("event_id",)
    actions = ("replay",)
    fields = ("subscription", "event_type", "event_id", "at", "status", "attempts", "queued_at",
              "next_attempt_at", "delivered_at", "last_status_code", "last_error",
              "request_body", "payload_shown", "created")  # fmt: skip
    readonly_fields = fields
    change_form_template = "admin/nps/webhookdelivery/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows come from events only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the log is kept

    @admin.display(description=_("last request body"))
    def request_body(self, obj: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", _pretty(obj.last_request))

    @admin.display(description=_("payload"))
    def payload_shown(self, obj: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, ensure_ascii=False, indent=2))

    @admin.action(description=_("Replay (send again with the same event id)"),
                  permissions=["change"])  # fmt: skip
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = deliveries_replay(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, self.replayed_text(count), messages.SUCCESS)

    @staticmethod
    def replayed_text(count: int) -> str:
        return ngettext(
            "%(count)d delivery queued again.", "%(count)d deliveries queued again.", count
        ) % {"count": count}

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.replay_view)
        replay = path("<int:delivery_id>/replay/", view, name="nps_webhookdelivery_replay")
        return [replay, *super().get_urls()]

    def replay_view(self, request: HttpRequest, delivery_id: int) -> HttpResponse:
        """The change page's Replay button (POST)."""
        delivery = self.get_object(request, str(delivery_id))
        if delivery is None or not self.has_change_permission(request, delivery):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self.message_user(request, self.replayed_text(deliveries_replay(ids=[delivery.pk])))
        return redirect("admin:nps_webhookdelivery_change", delivery.pk)


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), ensure_ascii=False, indent=2)
    except ValueError:
        return body
