"""What each rollup table (nps.models) counts: its source rows, the ORM path of every
dimension in them, and its measures; `rollup_tables_fill` writes a span of days of all of
them (the five count tables and the detractor comments, the verbatims' narrow table)."""

from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.db import models
from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    DateField,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Round, TruncDate

from followups.models import Case, CaseStatus
from nps.models import (
    CONTACT_BUCKETS,
    COST_UNITS,
    CaseDaily,
    DetractorComment,
    FunnelDaily,
    NpsDaily,
    ReasonDaily,
    SendDaily,
    attempt_bucket_field,
    bucket_field,
    suppressed_field,
)
from nps.reporting.days import day_bounds, reporting_zone
from nps.reporting.rollup_sql import (
    MinutesBetween,
    dimension_columns,
    insert_coarser_grains,
    insert_full_grain,
    insert_rows,
)
from surveys.models import (
    Category,
    GatewayPrice,
    Interaction,
    Invitation,
    OutboundMessage,
    Purpose,
    Response,
    ResponseReason,
    SuppressReason,
)

ROLLUPS: tuple[type[models.Model], ...] = (
    NpsDaily,
    ReasonDaily,
    FunnelDaily,
    CaseDaily,
    SendDaily,
    DetractorComment,
)

# Dimension -> ORM path, per source. The team comes from TeamMap (routing) or from the case.
RESPONSE_DIMS = {
    "touchpoint": "interaction__touchpoint",
    "channel": "interaction__channel",
    "business_type": "interaction__business_type",
    "region": "customer__region",
    "tier": "customer__tier",
    "agent": "interaction__staff_id",
    "unit_id": "interaction__unit_id",
}
REASON_DIMS = {name: f"response__{path}" for name, path in RESPONSE_DIMS.items()}
INTERACTION_DIMS = {
    "touchpoint": "touchpoint",
    "channel": "channel",
    "business_type": "business_type",
    "region": "customer__region",
    "tier": "customer__tier",
    "agent": "staff_id",
    "unit_id": "unit_id",
}
# An invitation's and a conversation message's dimensions are its interaction's.
INVITATION_DIMS = {
    name: path if name in ("region", "tier") else f"interaction__{path}"
    for name, path in INTERACTION_DIMS.items()
}
MESSAGE_DIMS = {
    name: path if name in ("region", "tier") else f"invitation__interaction__{path}"
    for name, path in INTERACTION_DIMS.items()
}
CASE_DIMS = {
    **{name: f"response__{path}" for name, path in RESPONSE_DIMS.items()},
    "region": "customer__region",
    "tier": "customer__tier",
    "team_id": "team_id",
    # The case's responsible unit; else the unit that served (a code mapped after it opened).
    "unit_id": ("unit_id", "response__interaction__unit_id"),
}


class Span(NamedTuple):
    """Local days first..last, and their bounds [lo, hi) as aware datetimes."""

    first: date
    last: date
    lo: datetime
    hi: datetime

    def day(self, moment: str) -> Any:
        """The local day of the time stamp at `moment` (an ORM path): a constant for a
        span of one day (the periodic refresh's), else computed per row and grouped on."""
        if self.first == self.last:
            return Value(self.first, output_field=DateField())
        return TruncDate(moment, tzinfo=reporting_zone(), output_field=DateField())


def _nps(span: Span) -> None:
    responses = Response.objects.filter(
        created_at__gte=span.lo, created_at__lt=span.hi, invitation__purpose=Purpose.SURVEY
    )
    metrics = {
        "promoters": Count("pk", filter=Q(category=Category.PROMOTER)),
        "passives": Count("pk", filter=Q(category=Category.PASSIVE)),
        "detractors": Count("pk", filter=Q(category=Category.DETRACTOR)),
    }
    insert_full_grain(
        NpsDaily, responses, day=span.day("created_at"), paths=RESPONSE_DIMS, metrics=metrics
    )
    insert_coarser_grains(NpsDaily, first=span.first, last=span.last)


def _comments(span: Span) -> None:
    """The day's survey detractors who left a comment (the verbatims), a row each."""
    commented = Response.objects.filter(
        created_at__gte=span.lo,
        created_at__lt=span.hi,
        invitation__purpose=Purpose.SURVEY,
        category=Category.DETRACTOR,
    ).exclude(comment="")
    columns = {
        **dimension_columns(RESPONSE_DIMS),
        "response": F("pk"),
        "day": span.day("created_at"),
        "created_at": F("created_at"),
    }
    insert_rows(DetractorComment, commented, columns)


def _reasons(span: Span) -> None:
    links = ResponseReason.objects.filter(
        response__created_at__gte=span.lo,
        response__created_at__lt=span.hi,
        response__invitation__purpose=Purpose.SURVEY,
    )
    metrics = {
        "detractors": Count("pk", filter=Q(response__category=Category.DETRACTOR)),
        "passives": Count("pk", filter=Q(response__category=Category.PASSIVE)),
        "promoters": Count("pk", filter=Q(response__category=Category.PROMOTER)),
    }
    insert_full_grain(
        ReasonDaily,
        links,
        day=span.day("response__created_at"),
        paths=REASON_DIMS,
        metrics=metrics,
        extra={"reason": F("category_id")},
    )
    insert_coarser_grains(ReasonDaily, first=span.first, last=span.last, keep=("reason",))


def _funnel(span: Span) -> None:
    # At most one survey invitation per interaction (unique), so the joins never multiply.
    interactions = Interaction.objects.annotate(
        survey=FilteredRelation("invitations", condition=Q(invitations__purpose=Purpose.SURVEY))
    ).filter(occurred_at__gte=span.lo, occurred_at__lt=span.hi)
    metrics = {
        "interactions": Count("pk"),
        "sent": Count("survey__sent_at"),
        "delivered": Count("survey__delivered_at"),
        "responded": Count("survey__response__id"),
        **{
            suppressed_field(code): Count("pk", filter=Q(survey__suppressed_reason=code))
            for code in SuppressReason.values
        },
    }
    insert_full_grain(
        FunnelDaily,
        interactions,
        day=span.day("occurred_at"),
        paths=INTERACTION_DIMS,
        metrics=metrics,
    )
    insert_coarser_grains(FunnelDaily, first=span.first, last=span.last)


def _send_measures() -> dict[str, Any]:
    """Sends, those with a price, their segments and their cost (in 1 / COST_UNITS)."""
    units = Cast(Round(F("cost") * Value(COST_UNITS)), output_field=BigIntegerField())
    return {
        "sms": Count("pk"),
        "priced": Count("cost"),
        "segments": Coalesce(Sum("segments"), 0),
        "cost": Coalesce(Sum(units), 0),
    }


def _send_currency() -> Coalesce:
    """The currency of the price of the gateway that sent it ("" when it has none)."""
    price = GatewayPrice.objects.filter(gateway=OuterRef("gateway")).values("currency")[:1]
    return Coalesce(Subquery(price), Value(""), output_field=CharField())


def _sends(span: Span) -> None:
    # By the interaction's day, as the funnel: an SMS counts with the interaction it is
    # about (Interaction.occurred_at is indexed; a send's own time is not). Each source
    # row joins one invitation and one interaction, so nothing multiplies.
    invitations = Invitation.objects.filter(
        interaction__occurred_at__gte=span.lo, interaction__occurred_at__lt=span.hi
    )
    messages = OutboundMessage.objects.filter(
        invitation__interaction__occurred_at__gte=span.lo,
        invitation__interaction__occurred_at__lt=span.hi,
    )
    sources: list[tuple[str, models.QuerySet[Any], dict[str, Any], str]] = [
        ("invitation", invitations, INVITATION_DIMS, "interaction__occurred_at"),
        ("message", messages, MESSAGE_DIMS, "invitation__interaction__occurred_at"),
    ]
    for source, rows, paths, moment in sources:
        insert_full_grain(
            SendDaily,
            rows.filter(sent_at__isnull=False),
            day=span.day(moment),
            paths=paths,
            metrics=_send_measures(),
            extra={"source": Value(source, output_field=CharField()), "currency": _send_currency()},
        )
    insert_coarser_grains(SendDaily, first=span.first, last=span.last, keep=("source", "currency"))


def _contact_bucket(index: int, *, field: str = "first_contact_at") -> Q:
    """Cases whose `field` (first contact, or first attempt) falls within bucket `index` of
    CONTACT_BUCKETS (minutes after opening)."""
    within = Q(**{f"{field}__isnull": False})
    if index > 0:  # the first bucket also takes any time stamped before the opening
        lower = timedelta(minutes=CONTACT_BUCKETS[index])
        within &= Q(**{f"{field}__gte": F("opened_at") + lower})
    if index + 1 < len(CONTACT_BUCKETS):
        upper = timedelta(minutes=CONTACT_BUCKETS[index + 1])
        within &= Q(**{f"{field}__lt": F("opened_at") + upper})
    return within


# Unreachable, also once closed: a case is closed only from resolved or unreachable (or by
# a score correction), so a closed case never resolved and not corrected was unreachable.
UNREACHABLE = Q(status=CaseStatus.UNREACHABLE) | Q(
    status=CaseStatus.CLOSED, resolved_at__isnull=True, closed_by_correction=False
)


def _cases(span: Span) -> None:
    cases = Case.objects.filter(opened_at__gte=span.lo, opened_at__lt=span.hi)
    minutes = MinutesBetween("opened_at", "resolved_at")
    metrics = {
        "opened": Count("pk"),
        "first_attempted": Count("first_attempt_at"),
        "first_contacted": Count("first_contact_at"),
        "first_contact_in_sla": Count("pk", filter=Q(first_contact_at__lte=F("sla_due_at"))),
        "resolved": Count("resolved_at"),
        "unreachable": Count("pk", filter=UNREACHABLE),
        "verified": Count("verification_score"),
        "recovered": Count("pk", filter=Q(recovered=True)),
        "resolution_minutes": Coalesce(Sum(minutes), 0),
        "resolution_minutes_sq": Coalesce(Sum(minutes * minutes), 0),
        **{
            bucket_field(lower): Count("pk", filter=_contact_bucket(i))
            for i, lower in enumerate(CONTACT_BUCKETS)
        },
        **{
            attempt_bucket_field(lower): Count(
                "pk", filter=_contact_bucket(i, field="first_attempt_at")
            )
            for i, lower in enumerate(CONTACT_BUCKETS)
        },
    }
    insert_full_grain(CaseDaily, cases, day=span.day("opened_at"), paths=CASE_DIMS, metrics=metrics)
    insert_coarser_grains(CaseDaily, first=span.first, last=span.last)


def rollup_tables_fill(*, first: date, last: date) -> None:
    """Insert every grain of every table for the local days first..last; their old rows
    must be gone."""
    span = Span(first, last, *day_bounds(first, last))
    _nps(span)
    _reasons(span)
    _funnel(span)
    _cases(span)
    _sends(span)
    _comments(span)
