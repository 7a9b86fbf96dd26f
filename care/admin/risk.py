"""Risk model versions (how each did on a later period, its weights) and customers' scores.

Everything here is read-only: a version is made by training ("Train now", the weekly task or
`manage.py pool_train`), a score by the daily scoring.
"""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from care.features import feature_label
from care.models import RiskModel, RiskScore
from surveys.queue import task_queue

TRAIN_PERMISSION = "care.add_riskmodel"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _auc(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RiskModel)
class RiskModelAdmin(ReadOnly):
    list_display = (
        "created_at",
        "algorithm",
        "auc_shown",
        "top1_shown",
        "top5_shown",
        "rule_auc_shown",
        "rule_top5_shown",
        "lift",
        "has_signal",
        "is_active",
        "validation_size",
        "validation_positives",
    )
    list_filter = ("has_signal", "is_active")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "created_at",
                    "algorithm",
                    "has_signal",
                    "is_active",
                    "note",
                )
            },
        ),
        (
            _("Periods"),
            {
                "fields": (
                    "trained_from",
                    "trained_to",
                    "validated_to",
                    "train_size",
                    "validation_size",
                    "validation_positives",
                )
            },
        ),
        (
            _("On the validation period"),
            {
                "fields": (
                    "auc_shown",
                    "auc_interval",
                    "top1_shown",
                    "top5_shown",
                    "rule_auc_shown",
                    "rule_top1_shown",
                    "rule_top5_shown",
                    "lift",
                )
            },
        ),
        (_("Weights"), {"fields": ("weights",)}),
    )
    readonly_fields = (
        "created_at",
        "auc_shown",
        "auc_interval",
        "top1_shown",
        "top5_shown",
        "rule_auc_shown",
        "rule_top1_shown",
        "rule_top5_shown",
        "lift",
        "weights",
    )
    change_list_template = "admin/care/riskmodel/change_list.html"

    @admin.display(description=_("AUC"), ordering="auc")
    def auc_shown(self, obj: RiskModel) -> str:
        return _auc(obj.auc)

    # xgettext:no-python-format
    @admin.display(description=_("AUC, 95% interval"))
    def auc_interval(self, obj: RiskModel) -> str:
        low_high = obj.parameters.get("auc_interval")
        return "-" if not low_high else f"{low_high[0]:.3f} - {low_high[1]:.3f}"

    @admin.display(description=_("precision, top 1%"), ordering="precision_top1")
    def top1_shown(self, obj: RiskModel) -> str:
        return _share(obj.precision_top1)

    @admin.display(description=_("precision, top 5%"), ordering="precision_top5")
    def top5_shown(self, obj: RiskModel) -> str:
        return _share(obj.precision_top5)

    @admin.display(description=_("rule score AUC"))
    def rule_auc_shown(self, obj: RiskModel) -> str:
        return _auc(obj.rule_auc)

    @admin.display(description=_("rule score precision, top 1%"))
    def rule_top1_shown(self, obj: RiskModel) -> str:
        return _share(obj.rule_precision_top1)

    @admin.display(description=_("rule score precision, top 5%"))
    def rule_top5_shown(self, obj: RiskModel) -> str:
        return _share(obj.rule_precision_top5)

    @admin.display(description=_("lift over the rule, top 5%"))
    def lift(self, obj: RiskModel) -> str:
        if not obj.precision_top5 or not obj.rule_precision_top5:
            return "-"
        return f"{obj.precision_top5 / obj.rule_precision_top5:.2f}×"

    @admin.display(description=_("weights"))
    def weights(self, obj: RiskModel) -> SafeString | str:
        """Each feature's weight on the standardised value, largest effect first."""
        p = obj.parameters
        if "coef" not in p:
            return "-"
        rows = sorted(zip(p["features"], p["coef"], strict=True), key=lambda r: -abs(r[1]))
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    feature_label(name),
                    f"{weight:+.3f}",
                    _("raises the risk") if weight > 0 else _("lowers the risk"),
                )
                for name, weight in rows
            ),
        )
        return format_html(
            "<p>{}</p><table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _(
                "A weight is what one standard deviation more of the feature adds to the "
                "log-odds of a detractor answer."
            ),
            _("feature"),
            _("weight"),
            _("effect"),
            body,
        )

    def get_urls(self) -> list[URLPattern]:
        train = path(
            "train/", self.admin_site.admin_view(self.train_view), name="care_riskmodel_train"
        )
        return [train, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra = {**(extra_context or {}), "can_train": request.user.has_perm(TRAIN_PERMISSION)}
        return super().changelist_view(request, extra)

    def train_view(self, request: HttpRequest) -> HttpResponse:
        """Asks, then queues a training run (it takes minutes on a million customers)."""
        if not request.user.has_perm(TRAIN_PERMISSION):
            raise PermissionDenied
        if request.method == "POST":
            task_queue("care.risk.train_model")
            self.message_user(
                request, _("Training has started; the new version appears here when it is done.")
            )
            return redirect("admin:care_riskmodel_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Train a new version now"),
        }
        return TemplateResponse(request, "admin/care/riskmodel/train.html", context)


@admin.register(RiskScore)
class RiskScoreAdmin(ReadOnly):
    list_display = ("customer", "score_shown", "risk_model", "scored_at")
    list_select_related = ("customer", "risk_model")
    list_filter = ("risk_model",)
    search_fields = ("customer__phone", "customer__name")
    ordering = ("-score",)
    show_full_result_count = False  # a million rows: no second count

    @admin.display(description=_("risk score"), ordering="score")
    def score_shown(self, obj: RiskScore) -> str:
        return f"{obj.score:.3f}"
