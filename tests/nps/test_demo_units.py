"""The demo's organisation: its tree, the history attributed to stores and channels, the
unit rows of the rollups, targets, rules and a subscription; idempotent."""

import time
from datetime import date

import pytest
from django.core.management import call_command
from django.db.models import Count, Q

from followups.models import Case
from nps.demo_units import CITIES, PROVINCE, UNMAPPED, units_demo_seed
from nps.models import AlertRule, ReportSubscription, Target, TargetMetric
from nps.reporting.contract import Filters
from nps.reporting.queries import nps_counts, unit_filter
from surveys.models import Category, Interaction, Purpose, Response, Unit, UnitKind
from surveys.units import unmapped_unit_codes

pytestmark = pytest.mark.django_db


def test_the_demo_attributes_its_history_and_the_rollups_hold_the_units() -> None:
    call_command("seed_demo")
    province = Unit.objects.get(name=PROVINCE, parent=None)
    cities = Unit.objects.filter(parent=province, kind=UnitKind.CITY)
    assert cities.count() == len(CITIES)
    assert Unit.objects.filter(is_quality_department=True).count() == 1
    for city in cities:
        kinds = list(city.children.values_list("kind", flat=True))
        assert 2 <= kinds.count(UnitKind.STORE) <= 4
        assert kinds.count(UnitKind.CHANNEL) == 3
    # Every interaction has an id; only Lhasa's partner stores' id is left unmapped.
    assert not Interaction.objects.filter(unit_code="").exists()
    unmapped = Interaction.objects.filter(unit__isnull=True)
    assert set(unmapped.values_list("unit_code", flat=True)) == {UNMAPPED[2]}
    assert [row["unit_code"] for row in unmapped_unit_codes()] == [UNMAPPED[2]]
    hotline = Interaction.objects.filter(touchpoint="hotline", customer__region="XZ")
    assert set(hotline.values_list("unit__name", flat=True)) == {"Lhasa hotline"}
    # Cases take the unit that served.
    pairs = Case.objects.values_list("unit_id", "response__interaction__unit_id")
    assert pairs
    assert all(own == served for own, served in pairs)
    # The rollups' province figure is every answer with a unit, counted from raw rows.
    first, last = date(2000, 1, 1), date(2100, 1, 1)
    counts = nps_counts(Filters(first, last, units=unit_filter(province.pk)))
    raw = Response.objects.filter(
        invitation__purpose=Purpose.SURVEY, interaction__unit__isnull=False
    ).aggregate(**{c: Count("pk", filter=Q(category=c)) for c in Category.values})
    assert (counts.promoters, counts.passives, counts.detractors) == (
        raw["promoter"],
        raw["passive"],
        raw["detractor"],
    )
    assert counts.n > 1000
    targets = Target.objects.filter(unit__in=[province, *cities])
    assert targets.count() == (len(CITIES) + 1) * len(TargetMetric)
    assert AlertRule.objects.count() == 3
    assert ReportSubscription.objects.filter(user__username="supervisor", unit=province).exists()

    started = time.perf_counter()
    assert units_demo_seed() == 0  # again: nothing new
    print(f"units_demo_seed again: {time.perf_counter() - started:.2f} s")
    assert Unit.objects.filter(parent=province, kind=UnitKind.CITY).count() == len(CITIES)
    assert Target.objects.count() == (len(CITIES) + 1) * len(TargetMetric)
