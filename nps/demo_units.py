"""The demo's organisation: a province company, a city branch per demo region with its
stores and channels, the departments beside them; CRM ids, owners, this month's targets,
alert rules and a report subscription.

The demo's interactions (nps.demo_history) get their store or channel by region and
touchpoint, deterministically (a store by the interaction's id); their cases take the unit
that served. One store's CRM id is left unmapped ("ST-XZ-NEW", Lhasa's partner stores), so
the admin's "Unmapped CRM ids" page has something to map. Idempotent: every row is got or
created, and only interactions without a unit or id are attributed. The caller rebuilds
the rollups afterwards, which then hold the unit rows.
"""

from collections import defaultdict
from datetime import date, timedelta

from django.contrib.auth.models import User
from django.db.models import Count, Q
from django.utils import timezone

from followups.models import Case
from nps.models import (
    AlertKind,
    AlertMetric,
    AlertPer,
    AlertRule,
    ReportCadence,
    ReportSubscription,
    Target,
    TargetMetric,
)
from nps.reporting.contract import Counts
from nps.reporting.days import local_today
from nps.reporting.stats import estimate
from surveys.models import Category, Interaction, Purpose, Response, Unit, UnitCode, UnitKind

PROVINCE = "Demo province company"
# Demo region -> (city branch, stores, owner: the team lead whose team serves it).
CITIES = {
    "BJ": ("Beijing", 4, "north_lead"),
    "TJ": ("Tianjin", 2, "north_lead"),
    "HE": ("Shijiazhuang", 2, "north_lead"),
    "SH": ("Shanghai", 4, "east_lead"),
    "JS": ("Nanjing", 3, "east_lead"),
    "ZJ": ("Hangzhou", 3, "east_lead"),
    "GD": ("Guangzhou", 3, "national_lead"),
    "SC": ("Chengdu", 2, "national_lead"),
    "XZ": ("Lhasa", 2, "national_lead"),
}
CHANNELS = ("hotline", "online", "app")
DEPARTMENTS = (("Quality department", True), ("Network department", False),
               ("Billing department", False))  # fmt: skip
UNMAPPED = ("XZ", "store_partner", "ST-XZ-NEW")  # region, touchpoint, the id no unit has


def units_demo_seed() -> int:
    """The tree, its ids, owners, targets, rules and subscription (once); attributes the
    demo interactions without a unit. Returns how many interactions it attributed."""
    users = {u.username: u for u in User.objects.filter(username__in=_owner_names())}
    province = _unit(PROVINCE, UnitKind.PROVINCE, None, users.get("supervisor"))
    for name, quality in DEPARTMENTS:
        department = _unit(name, UnitKind.DEPARTMENT, province, users.get("supervisor"))
        if quality and not department.is_quality_department:
            Unit.objects.filter(pk=department.pk).update(is_quality_department=True)
    codes: dict[str, Unit] = {}
    cities = {}
    for region, (city, stores, owner) in CITIES.items():
        branch = _unit(f"{city} branch", UnitKind.CITY, province, users.get(owner))
        cities[region] = branch
        for n in range(1, stores + 1):
            codes[f"ST-{region}-{n:02d}"] = _unit(f"{city} store {n}", UnitKind.STORE, branch)
        for channel in CHANNELS:
            codes[f"CH-{region}-{channel.upper()}"] = _unit(
                f"{city} {channel}", UnitKind.CHANNEL, branch
            )
    for code, unit in codes.items():
        UnitCode.objects.get_or_create(code=code, defaults={"unit": unit})
    attributed = _attribute(codes)
    _targets(province, cities)
    _rules(province, users.get("supervisor"))
    if supervisor := users.get("supervisor"):
        ReportSubscription.objects.get_or_create(
            user=supervisor, unit=province, cadence=ReportCadence.MONTHLY
        )
    return attributed


def _owner_names() -> set[str]:
    return {"supervisor"} | {owner for _city, _stores, owner in CITIES.values()}


def _unit(name: str, kind: str, parent: Unit | None, owner: User | None = None) -> Unit:
    unit, _created = Unit.objects.get_or_create(name=name, parent=parent, defaults={"kind": kind})
    if owner is not None:
        unit.owners.add(owner)
    return unit


def _code_for(region: str, touchpoint: str, pk: int) -> str:
    """The store or channel that served: the hotline, online (half on the app) or a store."""
    if (region, touchpoint) == UNMAPPED[:2]:
        return UNMAPPED[2]
    if touchpoint == "hotline":
        return f"CH-{region}-HOTLINE"
    if touchpoint == "online":
        return f"CH-{region}-{'APP' if pk % 2 else 'ONLINE'}"
    return f"ST-{region}-{pk % CITIES[region][1] + 1:02d}"


def _attribute(codes: dict[str, Unit]) -> int:
    """Ids and units for the demo interactions that have neither, one UPDATE per id."""
    rows = Interaction.objects.filter(unit__isnull=True, unit_code="").values_list(
        "pk", "customer__region", "touchpoint"
    )
    by_code: dict[str, list[int]] = defaultdict(list)
    for pk, region, touchpoint in rows:
        if region in CITIES:
            by_code[_code_for(region, touchpoint, pk)].append(pk)
    for code, pks in by_code.items():
        unit = codes.get(code)
        Interaction.objects.filter(pk__in=pks).update(unit_code=code, unit=unit)
        if unit is not None:  # cases take the unit that served
            Case.objects.filter(response__interaction_id__in=pks, unit__isnull=True).update(
                unit=unit
            )
    return sum(len(pks) for code, pks in by_code.items() if code in codes)


def _last_30_days(region: str | None) -> Counts:
    since = timezone.now() - timedelta(days=30)
    answers = Response.objects.filter(created_at__gte=since, invitation__purpose=Purpose.SURVEY)
    if region is not None:
        answers = answers.filter(customer__region=region)
    found = answers.aggregate(**{c: Count("pk", filter=Q(category=c)) for c in Category.values})
    return Counts(found["promoter"], found["passive"], found["detractor"])


def _targets(province: Unit, cities: dict[str, Unit]) -> None:
    """This month's targets: a few points better than the last 30 days' figures."""
    start, end = current_month(local_today())
    for region, unit in [(None, province), *cities.items()]:
        counts = _last_30_days(region)
        figure = estimate(counts)
        nps = round(figure.nps) + 5 if figure.nps is not None and figure.sufficient else 20
        detractors = 100 * counts.detractors / counts.n if counts.n else 25.0
        values = {
            TargetMetric.NPS: nps,
            TargetMetric.DETRACTOR_SHARE: max(round(detractors) - 3, 5),
            TargetMetric.FIRST_CONTACT_SLA: 90,
            TargetMetric.RESOLUTION_HOURS: 24,
            TargetMetric.RECOVERY_RATE: 60,
        }
        for metric, value in values.items():
            Target.objects.get_or_create(
                unit=unit, metric=metric, period_start=start,
                defaults={"period_end": end, "value": value},
            )  # fmt: skip


def _rules(province: Unit, supervisor: User | None) -> None:
    recipients = supervisor.email if supervisor else ""
    rules = [
        ("Daily detractor share above 35% per unit", AlertKind.THRESHOLD,
         AlertMetric.DETRACTOR_SHARE, AlertPer.UNIT, {"threshold": 35, "min_sample": 20}),
        ("Significant NPS drop per touchpoint", AlertKind.DROP, AlertMetric.NPS,
         AlertPer.TOUCHPOINT, {"window_days": 7, "baseline_days": 28, "min_sample": 30}),
        ("Surge in one reason per unit", AlertKind.SURGE, AlertMetric.REASON_SHARE,
         AlertPer.UNIT, {"window_days": 7, "baseline_days": 28, "min_sample": 20}),
    ]  # fmt: skip
    for name, kind, metric, per, limits in rules:
        AlertRule.objects.get_or_create(
            name=name,
            defaults={"kind": kind, "metric": metric, "per": per, "unit": province,
                      "recipients": recipients, **limits},
        )  # fmt: skip


def current_month(today: date) -> tuple[date, date]:
    start = today.replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
