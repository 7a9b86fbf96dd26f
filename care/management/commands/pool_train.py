"""Train a new risk model version now (the weekly task does the same)."""

from typing import Any

from django.core.management.base import BaseCommand

from care.risk import risk_train


def _shown(value: float | None, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


class Command(BaseCommand):
    help = "Train and validate a new risk model version; it is put in use if it finds a signal."

    def handle(self, *args: Any, **options: Any) -> None:
        model = risk_train()
        self.stdout.write(
            f"version {model.pk}: trained on {model.train_size} customers, validated on "
            f"{model.validation_size} ({model.validation_positives} detractors)"
        )
        self.stdout.write(
            f"AUC {_shown(model.auc, '.3f')} (rule {_shown(model.rule_auc, '.3f')}); "
            f"precision top 1% {_shown(model.precision_top1, '.1%')} "
            f"(rule {_shown(model.rule_precision_top1, '.1%')}), "
            f"top 5% {_shown(model.precision_top5, '.1%')} "
            f"(rule {_shown(model.rule_precision_top5, '.1%')})"
        )
        if model.is_active:
            self.stdout.write(self.style.SUCCESS("It finds a signal and is now in use."))
        else:
            self.stdout.write(
                self.style.WARNING("No signal: kept for the record, not in use. " + model.note)
            )
