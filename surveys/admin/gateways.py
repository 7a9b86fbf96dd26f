"""Admin for what the gateways need beyond their settings: the providers' approved templates
(with, at the top of the list, what the sending gateway still lacks) and the price of an
SMS segment per gateway."""

import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from surveys.admin.surveys import length_badge
from surveys.gatewaytemplates import parameter_problems, templates_missing, uses_templates
from surveys.models import TEMPLATE_KINDS, GatewayPrice, GatewayTemplate, Language
from surveys.texts import link_sms_example

# Typical values, to measure a template's wording as the customer gets it.
EXAMPLE_VALUES = {"hours": "24"}


def gateway_choices(*, templates_only: bool = False) -> list[tuple[str, str]]:
    """The configured gateways (settings.NPS_GATEWAYS), the sending one marked; only those
    that send approved templates when asked."""
    choices = []
    for slug, config in settings.NPS_GATEWAYS.items():
        if templates_only and not getattr(import_string(config["CLASS"]), "uses_templates", False):
            continue
        sending = slug == settings.NPS_SEND_GATEWAY
        choices.append(
            (slug, gettext("%(gateway)s (sending)") % {"gateway": slug} if sending else slug)
        )
    return choices


def with_current(choices: list[tuple[str, str]], current: str) -> list[tuple[str, str]]:
    """Keep a row's gateway choosable after it left the settings (shown, not lost)."""
    if current and current not in dict(choices):
        return [*choices, (current, current)]
    return choices


def wording_example(text: str, parameters: list[str]) -> str:
    """The approved wording with typical values in its placeholders: ${name} (Alibaba),
    {name}, or {1}, {2}... by the parameters' order (Tencent)."""
    values = {"link": link_sms_example("{link}"), **EXAMPLE_VALUES}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.isdigit() and 0 < int(name) <= len(parameters):
            name = parameters[int(name) - 1]
        return values.get(name, match.group(0))

    return re.sub(r"\$?\{(\w+)\}", value, text)


class GatewayTemplateForm(forms.ModelForm):
    gateway = forms.ChoiceField(
        label=_("gateway"),
        help_text=_("A gateway that sends only approved templates (Alibaba, Tencent)."),
    )
    parameters = forms.CharField(
        label=_("parameters"),
        required=False,
        help_text=_(
            "The template's parameters in its order, separated by commas, each one of our "
            "values. link: the survey link (link SMS only); hours: the hours until we call "
            "(callback promise only). Empty: a template without parameters."
        ),
    )

    class Meta:
        model = GatewayTemplate
        fields = ("gateway", "kind", "language", "code", "parameters", "text", "approved")
        help_texts = {
            "kind": _("Which of our SMS this template sends."),
            "language": _(
                "The language of the SMS it replaces. A customer who reads Tibetan and "
                "Chinese gets the Tibetan template."
            ),
            "code": _("As the provider's console shows it (Alibaba: SMS_…; Tencent: the id)."),
            "text": _(
                "The wording the provider approved, with its placeholders (${link} or {1}): "
                "kept here so staff can read it and see its length. The provider adds its "
                "sign name, which counts too."
            ),
            "approved": _(
                "Only approved templates are sent; untick while the provider reviews a change."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        gateway: Any = self.fields["gateway"]  # the ChoiceField declared above
        gateway.choices = with_current(
            gateway_choices(templates_only=True), self.instance.gateway if self.instance else ""
        )
        if self.instance.pk and not self.is_bound:
            self.initial["parameters"] = ", ".join(self.instance.parameters)

    def clean_parameters(self) -> list[str]:
        raw = self.cleaned_data.get("parameters") or ""
        return [name.strip() for name in raw.split(",") if name.strip()]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        problems = parameter_problems(cleaned.get("kind", ""), cleaned.get("parameters", []))
        if problems:
            self.add_error("parameters", problems)
        return cleaned


@admin.register(GatewayTemplate)
class GatewayTemplateAdmin(admin.ModelAdmin):
    form = GatewayTemplateForm
    list_display = ("gateway", "kind", "language", "code", "approved", "updated_at")
    list_filter = ("gateway", "kind", "language", "approved")
    search_fields = ("code", "text")
    ordering = ("gateway", "kind", "language")
    fields = (
        "gateway", "kind", "language", "code", "parameters", "text", "text_length",
        "approved", "updated_at",
    )  # fmt: skip
    readonly_fields = ("text_length", "updated_at")
    change_list_template = "admin/surveys/gatewaytemplate/change_list.html"

    @admin.display(description=_("SMS length"))
    def text_length(self, obj: GatewayTemplate | None) -> SafeString | str:
        """The approved wording's length with typical values, as the customer gets it."""
        return length_badge(wording_example(obj.text, obj.parameters) if obj else "")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The list, and above it what the sending gateway still lacks (templates_missing)."""
        kinds, languages = dict(TEMPLATE_KINDS), dict(Language.choices)
        missing = [
            {
                "kind": kinds.get(m.kind, m.kind),
                "language": languages.get(m.language, m.language),
                "surveys": ", ".join(m.surveys),
            }
            for m in templates_missing()
        ]
        context = {
            "sending_gateway": settings.NPS_SEND_GATEWAY,
            "sending_uses_templates": uses_templates(settings.NPS_SEND_GATEWAY),
            "templates_missing": missing,
        }
        return super().changelist_view(request, {**(extra_context or {}), **context})


class GatewayPriceForm(forms.ModelForm):
    gateway = forms.ChoiceField(label=_("gateway"), help_text=_("One of the configured gateways."))

    class Meta:
        model = GatewayPrice
        fields = ("gateway", "price_per_segment", "currency")
        help_texts = {
            "price_per_segment": _(
                "What the provider charges for one SMS segment (a long SMS is billed per "
                "segment). Applies to SMS sent after the change."
            ),
            "currency": _("Three letters, e.g. CNY."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        gateway: Any = self.fields["gateway"]  # the ChoiceField declared above
        gateway.choices = with_current(gateway_choices(), self.instance.gateway)

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise forms.ValidationError(_("Three letters, e.g. CNY."))
        return currency


@admin.register(GatewayPrice)
class GatewayPriceAdmin(admin.ModelAdmin):
    form = GatewayPriceForm
    list_display = ("gateway", "price_per_segment", "currency", "updated_at")
    list_filter = ("currency",)
    ordering = ("gateway",)
    readonly_fields = ("updated_at",)
