"""Admin for customers and their consent (changed only through surveys.consent)."""

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from surveys.admin.badges import (
    short,
)
from surveys.admin.bases import (
    PhoneSearchMixin,
    ReadOnlyMixin,
)
from surveys.admin.contacts import RecentContactInline
from surveys.consent import consent_change, consent_reason_required
from surveys.models import (
    ConsentChange,
    ConsentSource,
    Customer,
)
from surveys.phones import InvalidPhone, phone_parse


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        # Consent is not a form field: it changes only through surveys.consent (the actions).
        fields = (
            "phone", "name", "tier", "arpu", "arpu_trend_yuan", "region", "language", "time_zone",
        )  # fmt: skip

    def clean_phone(self) -> str:
        """Store E.164, as the CRM import does, so one number is one customer."""
        try:
            parsed = phone_parse(self.cleaned_data["phone"], region=settings.NPS_DEFAULT_REGION)
        except InvalidPhone as exc:
            raise forms.ValidationError(_("This is not a phone number.")) from exc
        self.instance.is_mobile = parsed.is_mobile
        return parsed.e164


class OptedOutFilter(admin.SimpleListFilter):
    title = _("opted out")
    parameter_name = "opted_out"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        if self.value() in ("yes", "no"):
            return queryset.filter(opted_out_at__isnull=self.value() == "no")
        return queryset


class ConsentChangeInline(ReadOnlyMixin, admin.TabularInline):
    """The consent log on the customer's page: append-only, written by surveys.consent."""

    model = ConsentChange
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "change", "source", "who", "why")
    verbose_name_plural = _("consent log")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ConsentChange]:
        return super().get_queryset(request).select_related("actor", "message")

    @admin.display(description=_("change"))
    def change(self, obj: ConsentChange) -> str:
        return str(_("Opted out") if obj.opted_out else _("Opted back in"))

    @admin.display(description=_("who"))
    def who(self, obj: ConsentChange) -> str:
        return str(obj.actor) if obj.actor else str(_("The customer"))

    @admin.display(description=_("reason"))
    def why(self, obj: ConsentChange) -> str:
        if obj.message is not None:
            return str(_("SMS “%(text)s”") % {"text": short(obj.message.text)})
        return obj.reason or "—"


class ConsentForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How and when the customer asked, e.g. the hotline call and its date."),
    )


@admin.register(Customer)
class CustomerAdmin(PhoneSearchMixin, admin.ModelAdmin):
    form = CustomerForm
    phone_search_field = "phone"
    list_display = (
        "phone", "name", "tier", "arpu", "region", "language", "is_mobile", "opted_out",
        "created_at",
    )  # fmt: skip
    list_filter = (OptedOutFilter, "tier", "region", "language", "is_mobile", "created_at")
    search_fields = ("phone", "name")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = ("is_mobile", "opted_out_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("phone", "is_mobile", "name")}),
        (
            _("Profile"),
            {"fields": ("tier", "arpu", "arpu_trend_yuan", "region", "language", "time_zone")},
        ),
        (_("Consent"), {"fields": ("opted_out_at",)}),
        (_("History"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = (ConsentChangeInline, RecentContactInline)
    actions = ("mark_opted_out", "opt_back_in")

    @admin.display(boolean=True, description=_("opted out"), ordering="opted_out_at")
    def opted_out(self, obj: Customer) -> bool:
        return obj.is_opted_out

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj is not None else ()  # a new customer has no log yet

    def has_consent_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("surveys.change_consent")

    @admin.action(
        description=_("Mark opted out (the customer asked us to stop)"), permissions=["consent"]
    )
    def mark_opted_out(self, request: HttpRequest, queryset: QuerySet[Customer]) -> Any:
        return self.consent_confirm(request, queryset, opted_out=True)

    @admin.action(
        description=_("Opt back in (the customer asked to hear from us again)"),
        permissions=["consent"],
    )
    def opt_back_in(self, request: HttpRequest, queryset: QuerySet[Customer]) -> Any:
        return self.consent_confirm(request, queryset, opted_out=False)

    def consent_confirm(
        self, request: HttpRequest, queryset: QuerySet[Customer], *, opted_out: bool
    ) -> TemplateResponse | None:
        """A confirmation page with the reason, then one consent_change per customer."""
        if queryset.count() > CONSENT_BATCH_MAX:  # each change answers one person's request
            text = _("Select at most %(max)d customers to change their consent.")
            self.message_user(request, text % {"max": CONSENT_BATCH_MAX}, messages.ERROR)
            return None
        form = ConsentForm(request.POST if "apply" in request.POST else None)
        form.fields["reason"].required = consent_reason_required(
            opted_out=opted_out, source=ConsentSource.STAFF
        )
        if form.is_valid():
            actor = cast(User, request.user)  # the admin serves only logged-in staff
            changed = sum(
                consent_change(
                    customer=customer, opted_out=opted_out, source=ConsentSource.STAFF,
                    actor=actor, reason=form.cleaned_data["reason"],
                ) is not None
                for customer in queryset.only("pk", "opted_out_at")
            )  # fmt: skip
            done = CONSENT_DONE[opted_out] % {"count": changed}
            self.message_user(request, done, messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "form": form, "customers": queryset,
            "action": request.POST["action"], "title": CONSENT_TITLES[opted_out],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }  # fmt: skip
        return TemplateResponse(request, "admin/surveys/customer/consent_confirm.html", context)


CONSENT_BATCH_MAX = 100
CONSENT_TITLES = {True: _("Mark opted out"), False: _("Opt back in")}
CONSENT_DONE = {
    True: _("%(count)d customer(s) marked opted out."),
    False: _("%(count)d customer(s) opted back in."),
}
