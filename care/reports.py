"""What the pool and campaign pages show: who may see what, and each table and figure.

The pages beside the dashboard follow its permissions: a supervisor sees every pool member
and campaign; a team lead the pool members living in the regions their teams cover, and the
campaigns their teams call for; anyone else nothing (followups.roles decides who is who).

Days are local days in the reporting time zone (settings.NPS_REPORTING_TIME_ZONE).
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from care.evaluation import ExitEffect, MeanEffect, NpsEffect
from care.features import feature_label
from care.models import (
    Arm,
    CallOutcome,
    CallStatus,
    Campaign,
    CampaignMember,
    CampaignResult,
    CampaignStatus,
    CareCall,
    EntryReason,
    MemberKind,
    Participation,
    PoolMember,
    RiskModel,
    RiskScore,
)
from care.pool import pool_open
from followups.models import Team
from followups.roles import NOTHING, User, team_scope
from nps.reporting.stats import share
from surveys.models import Customer, SuppressReason, Tier
from surveys.phones import mask_phone

Scope = tuple[int, ...] | None  # None: every team (a supervisor); else the teams led

SERIES_DAYS = 90
MEMBERS_SHOWN = 200  # rows of the members table on the page; the CSV has them all


# ------------------------------------------------------------------ who sees what


def care_scope(user: User) -> Scope:
    """The dashboard's scope (followups.roles.team_scope): None for a supervisor, a lead's
    team ids; PermissionDenied for anyone else."""
    scope = team_scope(user)
    if scope == NOTHING:
        raise PermissionDenied
    return scope


def scope_regions(scope: Scope) -> list[str] | None:
    """The regions the teams in scope cover; None for every region."""
    if scope is None:
        return None
    regions: set[str] = set()
    for covered in Team.objects.filter(pk__in=scope).values_list("regions", flat=True):
        regions |= {str(r) for r in covered or []}
    return sorted(regions)


def pool_visible(scope: Scope) -> QuerySet[PoolMember]:
    stays = PoolMember.objects.all()
    regions = scope_regions(scope)
    return stays if regions is None else stays.filter(customer__region__in=regions)


def campaigns_visible(scope: Scope) -> QuerySet[Campaign]:
    found = Campaign.objects.select_related("segment", "call_team", "post_survey")
    return found if scope is None else found.filter(call_team_id__in=scope)


def zone() -> ZoneInfo:
    return ZoneInfo(settings.NPS_REPORTING_TIME_ZONE)


def local_today() -> date:
    return timezone.localtime(timezone.now(), zone()).date()


def local(moment: datetime | None) -> datetime | None:
    return None if moment is None else timezone.localtime(moment, zone())


# ------------------------------------------------------------------ the pool


@dataclass(frozen=True)
class PoolFilters:
    kind: str = ""
    reason: str = ""
    region: str = ""
    tier: str = ""
    min_risk: float | None = None


def pool_selected(scope: Scope, f: PoolFilters) -> QuerySet[PoolMember]:
    """The open stays (care.pool.pool_open) in scope of the customers the filters select (a
    customer with a stay of the kind or reason asked for brings their other open stays)."""
    stays = pool_visible(scope) & pool_open()
    if f.region:
        stays = stays.filter(customer__region=f.region)
    if f.tier:
        stays = stays.filter(customer__tier=f.tier)
    if f.min_risk is not None:
        stays = stays.filter(customer__risk__score__gte=f.min_risk)
    if f.kind or f.reason:
        chosen = stays
        if f.kind:
            chosen = chosen.filter(kind=f.kind)
        if f.reason:
            chosen = chosen.filter(reason=f.reason)
        stays = stays.filter(customer_id__in=chosen.values("customer_id"))
    return stays


def pool_history(scope: Scope, f: PoolFilters) -> QuerySet[PoolMember]:
    """Every stay in scope, open or ended, of the kind, reason, region and tier asked for
    (the size over time counts past stays too; the risk filter reads today's score)."""
    stays = pool_visible(scope)
    if f.region:
        stays = stays.filter(customer__region=f.region)
    if f.tier:
        stays = stays.filter(customer__tier=f.tier)
    if f.kind:
        stays = stays.filter(kind=f.kind)
    if f.reason:
        stays = stays.filter(reason=f.reason)
    if f.min_risk is not None:
        stays = stays.filter(customer__risk__score__gte=f.min_risk)
    return stays


@dataclass(frozen=True)
class PoolSize:
    customers: int
    explicit: int  # customers with an explicit stay
    potential: int  # customers with a potential stay
    by_reason: list[tuple[str, str, int]]  # code, label, customers


def pool_size(stays: QuerySet[PoolMember]) -> PoolSize:
    """Customers in the pool now: a customer in for several reasons counts once in all,
    once under each reason."""

    def customers(q: QuerySet[PoolMember]) -> int:
        return q.values("customer_id").distinct().count()

    counted = dict(
        stays.values_list("reason").annotate(n=Count("customer_id", distinct=True)).order_by()
    )
    return PoolSize(
        customers=customers(stays),
        explicit=customers(stays.filter(kind=MemberKind.EXPLICIT)),
        potential=customers(stays.filter(kind=MemberKind.POTENTIAL)),
        by_reason=[(c, str(label), counted[c]) for c, label in EntryReason.choices if c in counted],
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone())


@dataclass(frozen=True)
class Series:
    days: list[date]
    lines: list[tuple[str, str, list[int]]]  # reason code, label, stays open at each day's end


def pool_series(stays: QuerySet[PoolMember], *, end: date, days: int = SERIES_DAYS) -> Series:
    """Stays open at the end of each local day, by reason, over `days` days up to `end`:
    those open when the window starts plus the entries, less the exits, day by day (three
    grouped queries whatever the size of the pool)."""
    start = end - timedelta(days=days - 1)
    opens, closes = _midnight(start), _midnight(end + timedelta(days=1))
    before = dict(
        stays.filter(Q(left_at__isnull=True) | Q(left_at__gte=opens), entered_at__lt=opens)
        .values_list("reason")
        .annotate(n=Count("pk"))
        .order_by()
    )

    def per_day(column: str) -> dict[tuple[str, date], int]:
        moved = (
            stays.filter(**{f"{column}__gte": opens, f"{column}__lt": closes})
            .annotate(day=TruncDate(column, tzinfo=zone()))
            .values_list("reason", "day")
            .annotate(n=Count("pk"))
            .order_by()
        )
        return {(reason, day): n for reason, day, n in moved}

    entries, exits = per_day("entered_at"), per_day("left_at")
    every_day = [start + timedelta(days=i) for i in range(days)]
    reasons = set(before) | {r for r, _d in entries} | {r for r, _d in exits}
    lines = []
    for code, label in EntryReason.choices:
        if code not in reasons:
            continue
        moves = [entries.get((code, d), 0) - exits.get((code, d), 0) for d in every_day]
        lines.append((code, str(label), list(accumulate(moves, initial=before.get(code, 0)))[1:]))
    return Series(every_day, lines)


def pool_by(stays: QuerySet[PoolMember], column: str) -> list[tuple[str, str, int]]:
    """Customers in the pool by region or tier: (value, label, customers), largest first."""
    rows = (
        stays.values_list(f"customer__{column}")
        .annotate(n=Count("customer_id", distinct=True))
        .order_by()
    )
    labels = dict(Tier.choices) if column == "tier" else {}
    found = [(v, str(labels.get(v) or v or _("(none)")), n) for v, n in rows]
    return sorted(found, key=lambda row: (-row[2], row[0]))


def factor_text(factor: dict[str, Any]) -> str:
    """One factor in words: "Complaints in 90 days: 2 (raises the risk)" (the feature's
    name from care.features.feature_label)."""
    name = str(factor.get("feature", ""))
    try:
        text = feature_label(name)
    except ValueError:  # a touchpoint no longer offered
        text = name
    value = factor.get("value")
    if isinstance(value, float):
        value = round(value, 1)
    if value is not None and value != "":
        text = f"{text}: {value}"
    contribution = factor.get("contribution")
    if isinstance(contribution, int | float) and contribution:
        direction = _("raises the risk") if contribution > 0 else _("lowers the risk")
        text = f"{text} ({direction})"
    return text


@dataclass
class MemberRow:
    customer_id: int
    customer: str  # the phone, masked
    tier: str
    region: str
    kinds: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    reason_codes: list[str] = field(default_factory=list)
    risk: float | None = None
    risk_model: int | None = None
    factors: list[str] = field(default_factory=list)
    entered_at: datetime | None = None


def member_rows(stays: QuerySet[PoolMember], *, limit: int | None) -> Iterator[MemberRow]:
    """One row per customer, riskiest first (then the longest in): their open stays' kinds
    and reasons, their score and the model that made it, and the factors in words."""
    ordered = (
        stays.values("customer_id")
        .annotate(
            score=Max("customer__risk__score"), stay_risk=Max("risk"), since=Min("entered_at")
        )
        .annotate(shown=Coalesce("score", "stay_risk"))
        .order_by(F("shown").desc(nulls_last=True), "since", "customer_id")
    )
    ids = [row["customer_id"] for row in (ordered[:limit] if limit else ordered)]
    chunk = 5000
    # Labels translated once, not once a row (plain rows below: a CSV may have a million).
    kinds = {code: str(label) for code, label in MemberKind.choices}
    reasons = {code: str(label) for code, label in EntryReason.choices}
    for i in range(0, len(ids), chunk):
        part = ids[i : i + chunk]
        customers = {
            cid: (phone, tier, region)
            for cid, phone, tier, region in Customer.objects.filter(pk__in=part).values_list(
                "pk", "phone", "tier", "region"
            )
        }
        scored = RiskScore.objects.filter(customer_id__in=part)
        scores = {
            cid: (score, model)
            for cid, score, model in scored.values_list("customer_id", "score", "risk_model_id")
        }
        own_stays: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        found = stays.filter(customer_id__in=part).order_by("entered_at", "pk")
        columns = (
            "customer_id",
            "kind",
            "reason",
            "entered_at",
            "risk",
            "risk_model_id",
            "factors",
        )
        for stay in found.values_list(*columns):
            own_stays[stay[0]].append(stay)
        for cid in part:
            (phone, tier, region), own = customers[cid], own_stays[cid]
            score = scores.get(cid)
            row = MemberRow(
                customer_id=cid,
                customer=mask_phone(phone),
                tier=tier,
                region=region,
                risk=score[0] if score else max((s[4] for s in own if s[4]), default=None),
                risk_model=score[1] if score else None,
                entered_at=local(min(s[3] for s in own)),
            )
            for _cid, kind, reason, _at, _risk, model, factors in own:
                if kinds.get(kind, kind) not in row.kinds:
                    row.kinds.append(kinds.get(kind, kind))
                row.reasons.append(reasons.get(reason, reason))
                row.reason_codes.append(reason)
                if model and row.risk_model is None:
                    row.risk_model = model
                row.factors += [factor_text(f) for f in (factors or [])[:3]]
            yield row


@dataclass(frozen=True)
class ModelCard:
    model: RiskModel
    trained_at: datetime | None
    lift_top1: float | None
    lift_top5: float | None


def _lift(model_share: float | None, rule_share: float | None) -> float | None:
    if model_share is None or not rule_share:
        return None
    return model_share / rule_share


def active_model() -> ModelCard | None:
    found = RiskModel.objects.filter(is_active=True).order_by("-created_at").first()
    if found is None:
        return None
    return ModelCard(
        model=found,
        trained_at=local(found.created_at),
        lift_top1=_lift(found.precision_top1, found.rule_precision_top1),
        lift_top5=_lift(found.precision_top5, found.rule_precision_top5),
    )


MEMBERS_HEADER = [
    "customer",
    "tier",
    "region",
    "kinds",
    "reasons",
    "risk",
    "risk_model",
    "factors",
    "entered_at",
]


def members_csv_rows(stays: QuerySet[PoolMember]) -> Iterable[list[object]]:
    for r in member_rows(stays, limit=None):
        yield [
            r.customer,
            r.tier,
            r.region,
            "; ".join(r.kinds),
            "; ".join(r.reasons),
            "" if r.risk is None else round(r.risk, 4),
            r.risk_model or "",
            "; ".join(r.factors),
            r.entered_at.isoformat() if r.entered_at else "",
        ]


# ------------------------------------------------------------------ campaigns


def actions_text(c: Campaign) -> str:
    done = []
    if c.sms_offer:
        done.append(_("SMS offer"))
    if c.care_calls:
        done.append(_("Care calls"))
    if c.offer_code:
        done.append(_("Offer code"))
    return ", ".join(done) or _("None")


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    actions: str
    treated: int
    control: int
    participants: int

    @property
    def participation_rate(self) -> float | None:
        return share(self.participants, self.treated)


def campaign_rows(campaigns: QuerySet[Campaign]) -> list[CampaignRow]:
    counted = campaigns.annotate(
        n_treated=Count("members", filter=Q(members__arm=Arm.TREATED)),
        n_control=Count("members", filter=Q(members__arm=Arm.CONTROL)),
        n_joined=Count(
            "members", filter=Q(members__arm=Arm.TREATED, members__participated_at__isnull=False)
        ),
    )
    return [CampaignRow(c, actions_text(c), c.n_treated, c.n_control, c.n_joined) for c in counted]


def skip_label(code: str) -> str:
    labels = dict(SuppressReason.choices)
    return str(labels.get(code, code))


@dataclass(frozen=True)
class Reach:
    treated: int
    control: int
    contacted: int
    skipped: list[tuple[str, str, int]]  # code, label, treated customers not contacted
    waiting: int  # treated, neither contacted nor skipped yet
    participation: list[tuple[str, str, int]]  # code, label, participants
    participants: int
    calls: list[tuple[str, str, int]]  # status, label, calls
    outcomes: list[tuple[str, str, int]]  # outcome, label, calls


def campaign_reach(c: Campaign) -> Reach:
    members = CampaignMember.objects.filter(campaign=c)
    treated = members.filter(arm=Arm.TREATED)
    skipped = dict(
        treated.exclude(skipped_reason="")
        .filter(contacted_at__isnull=True)
        .values_list("skipped_reason")
        .annotate(n=Count("pk"))
        .order_by()
    )
    joined = dict(
        treated.exclude(participation="")
        .values_list("participation")
        .annotate(n=Count("pk"))
        .order_by()
    )
    calls = CareCall.objects.filter(member__campaign=c)
    by_status = dict(calls.values_list("status").annotate(n=Count("pk")).order_by())
    by_outcome = dict(
        calls.exclude(outcome="").values_list("outcome").annotate(n=Count("pk")).order_by()
    )
    return Reach(
        treated=treated.count(),
        control=members.filter(arm=Arm.CONTROL).count(),
        contacted=treated.filter(contacted_at__isnull=False).count(),
        skipped=sorted(
            ((code, skip_label(code), n) for code, n in skipped.items()), key=lambda r: -r[2]
        ),
        waiting=treated.filter(contacted_at__isnull=True, skipped_reason="").count(),
        participation=[(k, str(v), joined[k]) for k, v in Participation.choices if k in joined],
        participants=treated.filter(participated_at__isnull=False).count(),
        calls=[(k, str(v), by_status[k]) for k, v in CallStatus.choices if k in by_status],
        outcomes=[(k, str(v), by_outcome[k]) for k, v in CallOutcome.choices if k in by_outcome],
    )


def signed(value: float) -> str:
    """+6.8, −2.0 (a true minus sign), 0.0."""
    text = f"{abs(value):.1f}"
    return f"+{text}" if value > 0 else f"\u2212{text}" if value < 0 else text


def effect_text(estimate: float, low: float, high: float, *, unit: str) -> str:
    """ "+6.8 points (95% interval +2.1 to +11.5), significant", or not distinguishable."""
    shown = _("%(estimate)s %(unit)s (95%% interval %(low)s to %(high)s)") % {
        "estimate": signed(estimate),
        "unit": unit,
        "low": signed(low),
        "high": signed(high),
    }
    if low > 0 or high < 0:
        return _("%(shown)s, significant") % {"shown": shown}
    return _("%(shown)s: not distinguishable from no effect") % {"shown": shown}


def did_text(did: MeanEffect | None) -> str:
    if did is None:
        return _("Too few answers to say (at least 2 in each group, before and after).")
    return effect_text(did.estimate, did.low, did.high, unit=_("points"))


def nps_text(e: NpsEffect | None) -> str:
    if e is None:
        return _("Too few answers to say (at least 2 in each group, before and after).")
    d = e.difference
    return effect_text(d.points, d.points - d.moe, d.points + d.moe, unit=_("NPS points"))


def exit_text(e: ExitEffect | None) -> str:
    if e is None:
        return _("Too few members to say (at least 2 in each group).")
    return effect_text(e.difference, e.low, e.high, unit=_("percentage points"))


ACTION_LABELS = {
    "sms": gettext_lazy("SMS offer"),
    "call": gettext_lazy("Care calls"),
    "offer": gettext_lazy("Offer code"),
}


def result_actions(codes: str) -> str:
    """ "sms+call" as words; a code not known is shown as it is."""
    parts = [p for p in re.split(r"[+,]", codes) if p]
    return ", ".join(str(ACTION_LABELS.get(p, p)) for p in parts)


def result_group(r: CampaignResult) -> str:
    """For whom: everyone, a tier, a region or a preference ("tier:A", "region:BJ"...)."""
    kind, _sep, value = r.group.partition(":")
    if r.group == "all":
        return _("Everyone")
    if r.feature is not None:
        return _("Preference: %(feature)s") % {"feature": r.feature}
    if kind == "tier":
        return _("Value tier %(tier)s") % {"tier": value}
    if kind == "region":
        return _("Region %(region)s") % {"region": value}
    return r.group


@dataclass(frozen=True)
class ResultRow:
    result: CampaignResult
    group: str
    actions: str
    text: str


def results_rows(campaigns: QuerySet[Campaign]) -> list[ResultRow]:
    """The "what worked for whom" table: each finished campaign's effect by group."""
    found = CampaignResult.objects.filter(campaign__in=campaigns).select_related(
        "campaign", "feature"
    )
    rows = []
    for r in found.order_by("-finished_at", "campaign_id", "group"):
        if r.effect is None or r.effect_low is None or r.effect_high is None:
            text = _("Too few answers to say.")
        else:
            text = effect_text(r.effect, r.effect_low, r.effect_high, unit=_("points"))
        rows.append(ResultRow(r, result_group(r), result_actions(r.actions), text))
    return rows


MEMBERS_CAMPAIGN_HEADER = [
    "customer",
    "group",
    "stratum",
    "contacted_at",
    "skipped_reason",
    "participated_at",
    "participation",
    "offer_code",
    "before_score",
    "after_score",
]


def campaign_members_csv_rows(c: Campaign) -> Iterable[list[object]]:
    def at(moment: datetime | None) -> str:
        shown = local(moment)
        return shown.isoformat() if shown else ""

    members = CampaignMember.objects.filter(campaign=c).select_related("customer")
    for m in members.order_by("arm", "pk").iterator(chunk_size=2000):
        yield [
            mask_phone(m.customer.phone),
            m.arm,
            m.stratum,
            at(m.contacted_at),
            m.skipped_reason,
            at(m.participated_at),
            m.participation,
            m.offer_code,
            "" if m.before_score is None else m.before_score,
            "" if m.after_score is None else m.after_score,
        ]


FINISHED = CampaignStatus.FINISHED
