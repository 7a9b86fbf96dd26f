"""Admin for segments, care campaigns, their members and calls, and what worked for whom.

Campaigns move on by three actions, each confirmed on a page of its own: Start (members
drawn, control group held out, the treated contacted), Send the post-survey, Finish
(results kept, care successes leave the pool). The evaluation table is on the campaign's
page, read-only. Agents see their own care calls and log the outcome there; team leads
their teams' calls; supervisors all.
"""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from care.campaigns import (
    CampaignError,
    campaign_actions,
    campaign_evaluation,
    campaign_finish,
    campaign_post_survey,
    campaign_start,
)
from care.knowledge import actions_suggest
from care.models import (
    CallOutcome,
    CallStatus,
    Campaign,
    CampaignMember,
    CampaignResult,
    CampaignStatus,
    CareCall,
    Segment,
)
from care.participation import care_call_log
from care.segments import segment_count, segment_filters_clean
from followups.roles import agent_of, is_supervisor, led_team_ids
from surveys.models import Language
from surveys.parsing import ReplyKind, parse_reply

ACTION_NAMES = {"sms": _("SMS offer"), "call": _("care calls"), "offer": _("offer code")}


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


# ---------------------------------------------------------------- segments


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ("name", "description", "filters")

    def clean_filters(self) -> dict[str, Any]:
        return segment_filters_clean(self.cleaned_data.get("filters"))


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentForm
    list_display = ("name", "customers_now", "description")
    search_fields = ("name", "description")
    readonly_fields = ("customers_now", "suggested_actions")

    def save_model(self, request: HttpRequest, obj: Segment, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = cast(User, request.user)
        super().save_model(request, obj, form, change)

    @admin.display(description=_("customers now"))
    def customers_now(self, obj: Segment) -> int | str:
        if obj.pk is None:
            return "—"
        try:
            return segment_count(obj)
        except ValidationError:
            return gettext("filters to correct")

    @admin.display(description=_("what worked for groups like this"))
    def suggested_actions(self, obj: Segment) -> SafeString | str:
        if obj.pk is None:
            return "—"
        try:
            suggestions = actions_suggest(obj)
        except ValidationError:
            return "—"
        if not suggestions:
            return gettext("No finished campaign for groups like this yet.")
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                "<li>{}: {} {}</li>",
                (
                    (actions_label(s.actions), f"{s.effect:+.1f}", gettext("points"))
                    for s in suggestions
                ),
            ),
        )


def actions_label(actions: str) -> str:
    return " + ".join(str(ACTION_NAMES.get(code, code)) for code in actions.split("+") if code)


# ---------------------------------------------------------------- campaigns


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ("name", "segment", "control_share", "seed", "sms_offer", "sms_texts",
                  "join_keyword", "care_calls", "call_team", "offer_code", "channel_feature",
                  "post_survey", "post_survey_days")  # fmt: skip

    def clean_join_keyword(self) -> str:
        keyword = str(self.cleaned_data.get("join_keyword") or "").strip()
        if keyword and parse_reply(keyword).kind != ReplyKind.UNKNOWN:
            raise ValidationError(
                _("This keyword reads as a score, a stop or a help request: choose a word."),
                code="keyword",
            )
        return keyword

    def clean_sms_texts(self) -> dict[str, str]:
        texts = self.cleaned_data.get("sms_texts") or {}
        if not isinstance(texts, dict) or not all(isinstance(t, str) for t in texts.values()):
            raise ValidationError(_("Write the texts as {language: text}."), code="texts")
        unknown = sorted(set(texts) - set(Language.values))
        if unknown:
            raise ValidationError(
                _("Unknown languages: %(codes)s.") % {"codes": ", ".join(unknown)}, code="texts"
            )
        return {language: text.strip() for language, text in texts.items() if text.strip()}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("sms_offer") and not data.get("sms_texts"):
            self.add_error("sms_texts", _("The SMS offer needs a text in at least one language."))
        if data.get("care_calls") and not data.get("call_team"):
            self.add_error("call_team", _("Care calls need a calling team."))
        return data


class CampaignMemberInline(admin.TabularInline):
    model = CampaignMember
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("customer", "arm", "contacted_at", "skipped_reason", "participation", "before_score",
              "after_score")  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[CampaignMember]:
        return super().get_queryset(request).select_related("customer")[:0]


CONFIRM_TITLES = {
    "start": _("Start the campaign"),
    "post_survey": _("Send the post-survey"),
    "finish": _("Finish the campaign"),
}
CONFIRM_TEXTS = {
    "start": _(
        "The segment's customers are drawn now, the control group is held out and the "
        "others are contacted. This cannot be undone."
    ),
    "post_survey": _(
        "Every member, treated and control, is asked the post-survey. This cannot be undone."
    ),
    "finish": _(
        "The results are kept and participants who answered 7 or more leave the pool. "
        "This cannot be undone."
    ),
}


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = ("name", "segment", "status", "actions_shown", "members_count",
                    "started_at", "finished_at")  # fmt: skip
    list_filter = ("status",)
    list_select_related = ("segment",)
    search_fields = ("name",)
    actions = ("start_selected", "post_survey_selected", "finish_selected")
    readonly_fields = ("status", "started_at", "post_survey_at", "finished_at", "evaluation_table")
    fieldsets = (
        (None, {"fields": ("name", "segment", "status", "control_share", "seed")}),
        (
            _("Actions"),
            {
                "fields": (
                    "sms_offer",
                    "sms_texts",
                    "join_keyword",
                    "care_calls",
                    "call_team",
                    "offer_code",
                    "channel_feature",
                )
            },
        ),
        (
            _("Measurement"),
            {
                "fields": (
                    "post_survey",
                    "post_survey_days",
                    "started_at",
                    "post_survey_at",
                    "finished_at",
                    "evaluation_table",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return super().get_queryset(request).annotate(member_total=Count("members"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.status != CampaignStatus.DRAFT:  # started: as it was run
            editable = {"name"}
            return [f.name for f in self.model._meta.fields if f.name not in editable] + [
                "evaluation_table"
            ]
        return self.readonly_fields

    @admin.display(description=_("actions"))
    def actions_shown(self, obj: Campaign) -> str:
        return actions_label("+".join(campaign_actions(obj)))

    @admin.display(description=_("members"), ordering="member_total")
    def members_count(self, obj: Campaign) -> int:
        return int(getattr(obj, "member_total", 0))

    @admin.display(description=_("evaluation"))
    def evaluation_table(self, obj: Campaign) -> SafeString | str:
        if obj.pk is None or obj.started_at is None:
            return gettext("Not started yet.")
        evaluation = campaign_evaluation(obj)
        row, did, nps, exits = evaluation.row, evaluation.did, evaluation.nps, evaluation.exits
        rate = row.participation_rate
        # xgettext:no-python-format
        interval = gettext("95% interval")
        lines: list[tuple[str, str]] = [
            (gettext("customers covered"), str(row.covered)),
            (gettext("control group"), str(evaluation.control)),
            (gettext("contacted"), str(evaluation.contacted)),
            (gettext("not contacted (budget, opt-out, open case)"), str(evaluation.skipped)),
            (gettext("participation rate"), "—" if rate is None else f"{rate:.1f}%"),
            (gettext("participants"), str(row.participants)),
            (gettext("satisfaction before"), _points(row.satisfaction_before)),
            (gettext("satisfaction after"), _points(row.satisfaction_after)),
            (gettext("control: satisfaction before"), _points(evaluation.control_before)),
            (gettext("control: satisfaction after"), _points(evaluation.control_after)),
        ]
        if did is None:
            lines.append((gettext("difference-in-differences"), gettext("too few answers")))
        else:
            verdict = gettext("significant") if did.significant else gettext("not significant")
            lines.append(
                (
                    gettext("difference-in-differences"),
                    f"{did.estimate:+.1f} ({interval} {did.low:+.1f} … {did.high:+.1f}; "
                    f"p = {did.p_value:.3f}; {verdict})",
                )
            )
        if nps is not None:
            lines.append(
                (
                    gettext("NPS change, treated minus control"),
                    f"{nps.difference.points:+.1f} ± {nps.difference.moe:.1f}",
                )
            )
        if exits is not None:
            lines.append(
                (
                    gettext("pool exit rate, treated / control"),
                    f"{exits.treated_rate:.1f}% / {exits.control_rate:.1f}% "
                    f"({interval} {exits.low:+.1f} … {exits.high:+.1f})",
                )
            )
        return format_html(
            '<table class="care-evaluation">{}</table>',
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", lines),
        )

    @admin.action(description=_("Start the selected draft campaigns"))
    def start_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> Any:
        return self._confirm(request, queryset, "start")

    @admin.action(description=_("Send the post-survey of the selected campaigns"))
    def post_survey_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> Any:
        return self._confirm(request, queryset, "post_survey")

    @admin.action(description=_("Finish the selected campaigns"))
    def finish_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> Any:
        return self._confirm(request, queryset, "finish")

    def _confirm(
        self, request: HttpRequest, queryset: QuerySet[Campaign], step: str
    ) -> TemplateResponse | None:
        if "apply" not in request.POST:
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts, "campaigns": queryset, "action": request.POST["action"],
                "title": CONFIRM_TITLES[step], "text": CONFIRM_TEXTS[step],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }  # fmt: skip
            return TemplateResponse(request, "admin/care/campaign/confirm.html", context)
        run = {
            "start": lambda pk: campaign_start(campaign_id=pk),
            "post_survey": lambda pk: campaign_post_survey(campaign_id=pk),
            "finish": lambda pk: campaign_finish(campaign_id=pk),
        }[step]
        for campaign in queryset:
            try:
                run(campaign.pk)
            except CampaignError as error:
                self.message_user(request, f"{campaign}: {error}", messages.ERROR)
            else:
                done = gettext("%(campaign)s: done.") % {"campaign": campaign}
                self.message_user(request, done, messages.SUCCESS)
        return None


# ---------------------------------------------------------------- members, calls, results


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CampaignMember)
class CampaignMemberAdmin(ReadOnlyAdmin):
    list_display = ("customer", "campaign", "arm", "stratum", "contacted_at", "skipped_reason",
                    "participation", "participated_at", "before_score", "after_score")  # fmt: skip
    list_filter = ("campaign", "arm", "participation", "skipped_reason")
    list_select_related = ("customer", "campaign")
    search_fields = ("customer__phone", "customer__name")
    exclude = ("offer_code",)  # a voucher: not shown to everyone who can read the list


class CareCallForm(forms.ModelForm):
    class Meta:
        model = CareCall
        fields = ("outcome", "note")

    def clean_outcome(self) -> str:
        outcome = str(self.cleaned_data.get("outcome") or "")
        if not outcome:
            raise ValidationError(_("Choose the call's outcome."), code="required")
        return outcome


@admin.register(CareCall)
class CareCallAdmin(admin.ModelAdmin):
    form = CareCallForm
    list_display = ("customer", "campaign", "phone", "agent", "status", "outcome",
                    "assigned_at", "called_at")  # fmt: skip
    list_filter = ("status", "outcome", "member__campaign")
    list_select_related = ("member__customer", "member__campaign", "agent")
    search_fields = ("member__customer__phone", "member__customer__name")
    readonly_fields = ("customer", "campaign", "phone", "agent", "team", "status",
                       "assigned_at", "called_at")  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet[CareCall]:
        calls = super().get_queryset(request)
        user = request.user
        if is_supervisor(user):
            return calls
        agent = agent_of(user)
        mine = Q(agent=agent) if agent is not None else Q(pk__in=[])
        return calls.filter(mine | Q(team_id__in=led_team_ids(user)))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.status not in (CallStatus.WAITING, CallStatus.ASSIGNED):
            return (*self.readonly_fields, "outcome", "note")  # logged: kept as it was
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: CareCall, form: Any, change: bool) -> None:
        try:
            care_call_log(
                call_id=obj.pk,
                outcome=CallOutcome(form.cleaned_data["outcome"]),
                actor=cast(User, request.user),
                note=form.cleaned_data.get("note", ""),
            )
        except CampaignError as error:
            self.message_user(request, str(error), messages.ERROR)

    @admin.display(description=_("customer"))
    def customer(self, obj: CareCall) -> str:
        return obj.member.customer.name or str(obj.member.customer)

    @admin.display(description=_("phone"))
    def phone(self, obj: CareCall) -> str:
        return obj.member.customer.phone

    @admin.display(description=_("campaign"))
    def campaign(self, obj: CareCall) -> str:
        return obj.member.campaign.name


@admin.register(CampaignResult)
class CampaignResultAdmin(ReadOnlyAdmin):
    """What worked for whom: each finished campaign's effect for each group of customers."""

    list_display = ("group", "actions_shown", "campaign", "treated", "control", "participation",
                    "effect_shown", "interval", "p_shown", "finished_at")  # fmt: skip
    list_filter = ("actions", "group")
    list_select_related = ("campaign",)
    search_fields = ("group", "campaign__name")
    ordering = ("group", "-effect")

    @admin.display(description=_("actions"), ordering="actions")
    def actions_shown(self, obj: CampaignResult) -> str:
        return actions_label(obj.actions)

    @admin.display(description=_("participation rate"), ordering="participation_rate")
    def participation(self, obj: CampaignResult) -> str:
        rate = obj.participation_rate
        return "—" if rate is None else f"{rate:.1f}%"

    @admin.display(description=_("difference-in-differences"), ordering="effect")
    def effect_shown(self, obj: CampaignResult) -> str:
        return "—" if obj.effect is None else f"{obj.effect:+.1f}"

    # xgettext:no-python-format
    @admin.display(description=_("95% interval"))
    def interval(self, obj: CampaignResult) -> str:
        if obj.effect_low is None or obj.effect_high is None:
            return "—"
        return f"{obj.effect_low:+.1f} … {obj.effect_high:+.1f}"

    @admin.display(description=_("p-value"), ordering="p_value")
    def p_shown(self, obj: CampaignResult) -> str:
        return "—" if obj.p_value is None else f"{obj.p_value:.3f}"
