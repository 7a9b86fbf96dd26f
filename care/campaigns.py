"""A care campaign's life: start, contact, post-survey, evaluate, finish.

- campaign_start: the segment's customers at that moment become its members; a control
  group is held out (care.control: stratified by tier and region, reproducible by the
  campaign's seed); each member keeps the latest answer they gave before the start on
  the post-survey's scale (the "before" score); the treated are contacted.
- Contacting (members_contact): each action is one contact taken through the one
  contact budget (surveys.pressure.contacts_take): the SMS offer (an OutboundMessage of
  kind CAMPAIGN, sent like every conversation message, never in quiet hours: a member
  whose local time is quiet waits for campaigns_contact_due), the care call (a CareCall,
  assigned to the calling team's agents as cases are) and the offer code (unguessable,
  one per treated member, carried by the SMS). A member refused by the budget keeps the
  refusal in skipped_reason; the control group is never contacted.
- campaign_post_survey (due post_survey_days after the start): an invitation of purpose
  CAMPAIGN to every member, treated and control alike, through the normal sending path.
  An Invitation needs an Interaction: each member gets one with the external id
  care-<campaign>-<customer> at touchpoint ACCOUNT_MANAGER (the operator reaching out).
  The dashboards count survey invitations only (purpose "survey"), and segments ignore
  these interactions (care.segments.OWN_INTERACTION_PREFIX). Each one takes a contact of
  kind campaign_survey from the budget when it is sent (surveys.dispatch's admit, as every
  survey does): a refused one is suppressed with the reason. An answer sets the member's
  after_score (receivers below).
- campaign_finish (when the post-survey's reply window has closed): the evaluation, the
  CampaignResult rows (the knowledge kept: all, by tier, by region, by each preference
  the customers hold at 0.5 or more), and participants answering 7 or more after leave
  the pool with "care_success".
"""

import logging
import secrets
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery import shared_task
from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from care.control import control_group
from care.evaluation import (
    ExitEffect,
    MeanEffect,
    NpsEffect,
    OperatorRow,
    did_answers,
    exit_effect,
    nps_counts,
    nps_effect,
    operator_row,
)
from care.models import (
    Arm,
    CallStatus,
    Campaign,
    CampaignMember,
    CampaignResult,
    CampaignStatus,
    CareCall,
    CustomerPreference,
    ExitReason,
    PoolMember,
)
from care.pool import pool_leave
from care.segments import segment_customers
from followups.assignment import agent_pick, agent_took, agents_with_load, language_wanted
from followups.models import Team
from surveys.dispatch import invitation_enqueue
from surveys.models import (
    ContactKind,
    Customer,
    Interaction,
    Invitation,
    InvitationStatus,
    OutboundKind,
    OutboundMessage,
    Purpose,
    Response,
    Scale,
    Survey,
    Touchpoint,
)
from surveys.pressure import contacts_take
from surveys.queue import task_queue_row
from surveys.signals import response_classified, responses_recorded
from surveys.texts import PART_SEPARATOR, with_opt_out_instruction
from surveys.timewindows import in_quiet_hours, next_allowed_send

log = logging.getLogger(__name__)

CARE_CALL_LOAD = (CallStatus.ASSIGNED,)  # what an agent holds, beside their open cases
RECOVERED = 7  # an answer after of at least this is a care success (0-10 or 1-10)
PREFERENCE_HELD = 0.5  # a customer "has" a preference at this value or more
OFFER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read out on the phone
OFFER_LENGTH = 12  # 31**12: about 2**59 codes
INTERACTION_TOUCHPOINT = Touchpoint.ACCOUNT_MANAGER
# The quiet hours of a campaign without a post-survey (a Survey's defaults).
DEFAULT_QUIET = (
    Survey._meta.get_field("quiet_start").get_default(),
    Survey._meta.get_field("quiet_end").get_default(),
)


class CampaignError(Exception):
    """A campaign cannot do that now; the message says why, for the person who asked."""


def campaign_scale(campaign: Campaign) -> Scale:
    """The scale answers are read on: the post-survey's (NPS without one)."""
    return Scale(campaign.post_survey.scale) if campaign.post_survey else Scale.NPS


def campaign_actions(campaign: Campaign) -> list[str]:
    """The campaign's actions as codes: sms, call, offer."""
    flags = [("sms", campaign.sms_offer), ("call", campaign.care_calls)]
    return [code for code, on in [*flags, ("offer", campaign.offer_code)] if on]


def offer_code_new() -> str:
    return "".join(secrets.choice(OFFER_ALPHABET) for _ in range(OFFER_LENGTH))


def _source(campaign: Campaign) -> str:
    return f"campaign:{campaign.pk}"


def _contacts_take(items: list[tuple[int, str, str]], at: datetime) -> dict[int, str | None]:
    """The one contact budget (surveys.pressure), for one contact per customer."""
    return contacts_take(items=items, at=at)


# ---------------------------------------------------------------- start


def before_scores(
    customer_ids: list[int], *, before: datetime, scale: Scale
) -> dict[int, tuple[int, datetime]]:
    """Each customer's latest survey answer before `before` on this scale."""
    answers = (
        Response.objects.filter(
            customer_id__in=customer_ids,
            invitation__purpose=Purpose.SURVEY,
            invitation__survey__scale=scale,
            created_at__lt=before,
        )
        .order_by("customer_id", "-created_at", "-pk")
        .values_list("customer_id", "score", "created_at")
    )
    latest: dict[int, tuple[int, datetime]] = {}
    for customer_id, score, created_at in answers:
        latest.setdefault(customer_id, (score, created_at))
    return latest


def campaign_start(*, campaign_id: int, at: datetime | None = None) -> Campaign:
    """Draw the members, hold out the control group and contact the treated (see above)."""
    at = at or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status != CampaignStatus.DRAFT:
            raise CampaignError(_("Only a draft campaign can be started."))
        if not campaign_actions(campaign):
            raise CampaignError(
                _("Choose at least one action: SMS offer, care calls or offer code.")
            )
        if campaign.care_calls and campaign.call_team_id is None:
            raise CampaignError(_("Care calls need a calling team."))
        if campaign.sms_offer and not any(t.strip() for t in campaign.sms_texts.values()):
            raise CampaignError(_("The SMS offer needs a text in at least one language."))
        customers = list(
            segment_customers(campaign.segment, at=at).values_list("pk", "tier", "region")
        )
        if not customers:
            raise CampaignError(_("The segment holds no customers now."))
        control = control_group(
            seed=campaign.seed,
            customers=[(pk, (tier, region)) for pk, tier, region in customers],
            share=campaign.control_share,
        )
        before = before_scores(
            [pk for pk, _t, _r in customers], before=at, scale=campaign_scale(campaign)
        )
        members = []
        for pk, tier, region in customers:
            arm = Arm.CONTROL if pk in control else Arm.TREATED
            score, answered_at = before.get(pk, (None, None))
            members.append(
                CampaignMember(
                    campaign=campaign,
                    customer_id=pk,
                    arm=arm,
                    stratum=f"{tier}/{region}"[:80],
                    offer_code=offer_code_new()
                    if campaign.offer_code and arm == Arm.TREATED
                    else "",
                    before_score=score,
                    before_at=answered_at,
                )
            )
        CampaignMember.objects.bulk_create(members, batch_size=1000)
        campaign.status, campaign.started_at = CampaignStatus.RUNNING, at
        campaign.save(update_fields=["status", "started_at"])
        members_contact(campaign=campaign, at=at)
    log.info("campaign %s started: %s members, %s control", campaign.pk, len(members), len(control))
    return campaign


# ---------------------------------------------------------------- contact


def _quiet_hours(campaign: Campaign) -> tuple[Any, Any]:
    survey = campaign.post_survey
    return (survey.quiet_start, survey.quiet_end) if survey else DEFAULT_QUIET


def campaign_sms_text(campaign: Campaign, customer: Customer, offer_code: str) -> tuple[str, str]:
    """(text, language): the campaign's text in the customer's language(s), the offer code
    and keyword put in ({code}, {keyword}), with the opt-out instruction."""
    texts = {lang: text for lang, text in campaign.sms_texts.items() if text.strip()}
    languages = [lang for lang in customer.languages if lang in texts]
    if not languages:
        fallback = next((lang for lang in ("zh-hans", "en") if lang in texts), None)
        languages = [fallback or next(iter(texts))]
    parts = []
    for language in languages:
        text = texts[language].replace("{code}", offer_code)
        text = text.replace("{keyword}", campaign.join_keyword)
        parts.append(with_opt_out_instruction(text, language))
    return PART_SEPARATOR.join(parts), languages[0]


def members_contact(*, campaign: Campaign, at: datetime | None = None) -> int:
    """Contact the running campaign's treated members not contacted yet, outside their
    quiet hours: each action through the contact budget. Call inside a transaction.
    Returns how many members were handled (contacted or skipped)."""
    at = at or timezone.now()
    if campaign.status != CampaignStatus.RUNNING:
        return 0
    quiet_start, quiet_end = _quiet_hours(campaign)
    pending = [
        member
        for member in CampaignMember.objects.select_for_update(of=("self",))
        .filter(campaign=campaign, arm=Arm.TREATED, contacted_at__isnull=True, skipped_reason="")
        .select_related("customer")
        .order_by("pk")
        if not in_quiet_hours(
            at.astimezone(_zone(member.customer.time_zone)).time(), quiet_start, quiet_end
        )
    ]
    if not pending:
        return 0
    source = _source(campaign)
    sms_refused: dict[int, str | None] = {}
    call_refused: dict[int, str | None] = {}
    if campaign.sms_offer:
        sms_refused = _contacts_take(
            [(m.customer_id, ContactKind.CAMPAIGN_SMS, source) for m in pending], at
        )
    if campaign.care_calls:
        call_refused = _contacts_take(
            [(m.customer_id, ContactKind.CAMPAIGN_CALL, source) for m in pending], at
        )
    messages, calls = [], []
    for member in pending:
        outcomes = []
        if campaign.sms_offer:
            reason = sms_refused.get(member.customer_id)
            outcomes.append(reason)
            if reason is None:
                text, language = campaign_sms_text(campaign, member.customer, member.offer_code)
                messages.append(
                    OutboundMessage(
                        customer=member.customer,
                        kind=OutboundKind.CAMPAIGN,
                        language=language,
                        text=text,
                    )
                )
        if campaign.care_calls:
            reason = call_refused.get(member.customer_id)
            outcomes.append(reason)
            calls.append(
                CareCall(
                    member=member,
                    team_id=campaign.call_team_id,
                    status=CallStatus.WAITING if reason is None else CallStatus.SKIPPED,
                    note="" if reason is None else reason,
                )
            )
        if any(reason is None for reason in outcomes) or not outcomes:  # offer code only
            member.contacted_at = at
        else:
            member.skipped_reason = next(r for r in outcomes if r)
    CampaignMember.objects.bulk_update(pending, ["contacted_at", "skipped_reason"])
    for message in OutboundMessage.objects.bulk_create(messages):
        task_queue_row("surveys.tasks.send_messages", message.pk)
    CareCall.objects.bulk_create(calls)
    if any(call.status == CallStatus.WAITING for call in calls):
        transaction.on_commit(lambda: care_calls_assign(campaign_id=campaign.pk))
    return len(pending)


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# ---------------------------------------------------------------- care calls


def care_calls_assign(*, campaign_id: int | None = None, limit: int = 500) -> int:
    """Give waiting care calls to the calling team's agents by the team's policy, as cases
    are (followups.assignment.agent_pick). An agent's load is their open cases and the
    care calls they hold. Locks each team as case assignment does."""
    calls = CareCall.objects.filter(status=CallStatus.WAITING, team__isnull=False)
    if campaign_id is not None:
        calls = calls.filter(member__campaign_id=campaign_id)
    assigned = 0
    with transaction.atomic():
        waiting = list(
            calls.select_for_update(of=("self",))
            .select_related("member__customer")
            .order_by("pk")[:limit]
        )
        by_team: dict[int, list[CareCall]] = {}
        for call in waiting:
            by_team.setdefault(call.team_id, []).append(call)  # type: ignore[arg-type]
        now = timezone.now()
        for team_id in sorted(by_team):
            team = Team.objects.select_for_update().get(pk=team_id)
            agents = agents_with_load(team_id=team_id)
            held: dict[int, int] = {}
            for agent_id in CareCall.objects.filter(
                agent__in=agents, status__in=CARE_CALL_LOAD
            ).values_list("agent_id", flat=True):
                held[agent_id] = held.get(agent_id, 0) + 1
            for agent in agents:
                agent.load += held.get(agent.pk, 0)  # type: ignore[attr-defined]
            for call in by_team[team_id]:
                language = language_wanted(call.member.customer.languages)
                chosen = agent_pick(team=team, now=now, language=language, agents=agents)
                if chosen is None:
                    break  # nobody can take one now: the rest wait for the sweeper
                CareCall.objects.filter(pk=call.pk).update(
                    agent=chosen, status=CallStatus.ASSIGNED, assigned_at=now
                )
                agent_took(team, chosen)
                assigned += 1
    return assigned


@shared_task(name="care.campaigns.care_calls_assign_waiting")
def care_calls_assign_waiting() -> int:
    """The sweeper: waiting care calls to agents who can take them now."""
    return care_calls_assign()


@shared_task(name="care.campaigns.campaigns_contact_due")
def campaigns_contact_due() -> int:
    """Contact the running campaigns' treated members whose quiet hours held them back."""
    handled = 0
    for campaign_id in Campaign.objects.filter(status=CampaignStatus.RUNNING).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
            handled += members_contact(campaign=campaign)
    return handled


# ---------------------------------------------------------------- post-survey


def campaign_post_survey(*, campaign_id: int, at: datetime | None = None) -> int:
    """Invite every member, treated and control, to the post-survey; returns how many
    invitations were planned. Each one takes its contact from the budget as it is sent
    (surveys.dispatch.invitations_admit): a refused one is suppressed with the reason."""
    at = at or timezone.now()
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("post_survey")
            .get(pk=campaign_id)
        )
        if campaign.status != CampaignStatus.RUNNING:
            raise CampaignError(_("Only a running campaign sends its post-survey."))
        survey = campaign.post_survey
        if survey is None:
            raise CampaignError(_("Choose the campaign's post-survey first."))
        members = list(
            CampaignMember.objects.select_for_update(of=("self",))
            .filter(campaign=campaign, after_invitation__isnull=True)
            .select_related("customer")
            .order_by("pk")
        )
        interactions = Interaction.objects.bulk_create(
            [
                Interaction(
                    external_id=f"care-{campaign.pk}-{m.customer_id}",
                    customer_id=m.customer_id,
                    touchpoint=INTERACTION_TOUCHPOINT,
                    occurred_at=at,
                )
                for m in members
            ]
        )
        invitations, due = [], []
        for member, interaction in zip(members, interactions, strict=True):
            send_at = next_allowed_send(
                at,
                tz=member.customer.time_zone,
                quiet_start=survey.quiet_start,
                quiet_end=survey.quiet_end,
            )
            invitation = Invitation(
                interaction=interaction,
                customer_id=member.customer_id,
                survey=survey,
                purpose=Purpose.CAMPAIGN,
                send_at=send_at,
            )
            invitations.append(invitation)
        invitations = Invitation.objects.bulk_create(invitations)
        for member, invitation in zip(members, invitations, strict=True):
            member.after_invitation = invitation
            due_at = invitation.send_at
            if due_at and due_at <= at:
                due.append(invitation.pk)
        CampaignMember.objects.bulk_update(members, ["after_invitation"])
        if due:
            invitation_enqueue(invitation_ids=due)
        campaign.status, campaign.post_survey_at = CampaignStatus.MEASURING, at
        campaign.save(update_fields=["status", "post_survey_at"])
    log.info("campaign %s post-survey: %s invited", campaign.pk, len(invitations))
    return len(invitations)


@shared_task(name="care.campaigns.campaigns_post_survey_due")
def campaigns_post_survey_due() -> int:
    """Send the post-survey of every running campaign whose days have passed."""
    now, sent = timezone.now(), 0
    for campaign in Campaign.objects.filter(
        status=CampaignStatus.RUNNING, post_survey__isnull=False
    ):
        if (
            campaign.started_at
            and campaign.started_at + timedelta(days=campaign.post_survey_days) <= now
        ):
            try:
                campaign_post_survey(campaign_id=campaign.pk, at=now)
                sent += 1
            except CampaignError:
                continue  # changed meanwhile
    return sent


def _after_record(responses: Iterable[Response]) -> int:
    wanted = {r.invitation_id: r for r in responses if r.invitation.purpose == Purpose.CAMPAIGN}
    if not wanted:
        return 0
    members = list(CampaignMember.objects.filter(after_invitation_id__in=wanted))
    for member in members:
        response = wanted[member.after_invitation_id]  # type: ignore[index]
        member.after_score, member.after_at = response.score, response.created_at
    CampaignMember.objects.bulk_update(members, ["after_score", "after_at"])
    return len(members)


@receiver(response_classified, dispatch_uid="care.campaigns.after_answer")
def on_response_classified(sender: type[Response], response: Response, **kwargs: Any) -> None:
    """A post-survey answer (or its correction) is the member's score after."""
    _after_record([response])


@receiver(responses_recorded, dispatch_uid="care.campaigns.after_answers")
def on_responses_recorded(sender: type[Response], responses: list[Response], **kwargs: Any) -> None:
    _after_record(responses)


# ---------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class CampaignEvaluation:
    """The operators' table, and what it did against the control group."""

    scale: Scale
    treated: int
    control: int
    contacted: int
    skipped: int
    row: OperatorRow  # covered, participants, satisfaction before and after (treated)
    control_before: float | None
    control_after: float | None
    did: MeanEffect | None
    nps: NpsEffect | None  # NPS scale only
    exits: ExitEffect | None


def _left_pool(customer_ids: list[int], *, at: datetime) -> set[int]:
    """The customers with no pool stay open at `at` (a stay closed exactly at `at`, as the
    care successes of a finishing campaign are, still counts as open)."""
    open_ids = set(
        PoolMember.objects.filter(customer_id__in=customer_ids, entered_at__lte=at)
        .filter(Q(left_at__isnull=True) | Q(left_at__gte=at))
        .values_list("customer_id", flat=True)
    )
    return set(customer_ids) - open_ids


def _pairs(
    before: dict[Hashable, int], after: dict[Hashable, int]
) -> tuple[dict[Hashable, int], dict[Hashable, int]]:
    """The answers of the customers who answered both before and after: the DiD compares
    each customer with themself (paired), not the answerers after with everyone before."""
    both = before.keys() & after.keys()
    return {c: before[c] for c in both}, {c: after[c] for c in both}


def members_evaluation(
    campaign: Campaign, members: list[CampaignMember], *, at: datetime
) -> CampaignEvaluation:
    """The evaluation of some of a campaign's members (all of them, or a group)."""
    scale = campaign_scale(campaign)
    treated = [m for m in members if m.arm == Arm.TREATED]
    control = [m for m in members if m.arm == Arm.CONTROL]

    def answers(group: list[CampaignMember], when: str) -> dict[Hashable, int]:
        return {
            m.customer_id: score
            for m in group
            if (score := getattr(m, f"{when}_score")) is not None
        }

    before_t, after_t = answers(treated, "before"), answers(treated, "after")
    before_c, after_c = answers(control, "before"), answers(control, "after")
    row = operator_row(
        covered=len(treated),
        participants=sum(m.participated_at is not None for m in treated),
        before=before_t.values(),
        after=after_t.values(),
        scale=scale,
    )
    control_row = operator_row(
        covered=len(control), participants=0, before=before_c.values(), after=after_c.values(),
        scale=scale,
    )  # fmt: skip
    nps = None
    if scale == Scale.NPS:
        nps = nps_effect(
            treated=(nps_counts(before_t.values()), nps_counts(after_t.values())),
            control=(nps_counts(before_c.values()), nps_counts(after_c.values())),
        )
    left = _left_pool([m.customer_id for m in members], at=at)
    exits = exit_effect(
        treated=(sum(m.customer_id in left for m in treated), len(treated)),
        control=(sum(m.customer_id in left for m in control), len(control)),
    )
    return CampaignEvaluation(
        scale=scale,
        treated=len(treated),
        control=len(control),
        contacted=sum(m.contacted_at is not None for m in treated),
        skipped=sum(bool(m.skipped_reason) for m in treated),
        row=row,
        control_before=control_row.satisfaction_before,
        control_after=control_row.satisfaction_after,
        did=did_answers(
            scale=scale, treated=_pairs(before_t, after_t), control=_pairs(before_c, after_c)
        ),
        nps=nps,
        exits=exits,
    )


def campaign_evaluation(campaign: Campaign, *, at: datetime | None = None) -> CampaignEvaluation:
    """The campaign's evaluation; pool exits are counted up to its finish (or now)."""
    at = at or campaign.finished_at or timezone.now()
    members = list(CampaignMember.objects.filter(campaign=campaign).order_by("pk"))
    return members_evaluation(campaign, members, at=at)


# ---------------------------------------------------------------- finish


def reply_window_open(campaign: Campaign, *, at: datetime) -> bool:
    """Whether a post-survey invitation may still be answered (or still goes out)."""
    if campaign.post_survey_at is None:
        return True
    hours = campaign.post_survey.reply_window_hours if campaign.post_survey else 0
    if campaign.post_survey_at + timedelta(hours=hours) > at:
        return True
    open_states = [InvitationStatus.SCHEDULED, InvitationStatus.SENDING]
    return Invitation.objects.filter(
        Q(status__in=open_states) | Q(expires_at__gt=at),
        campaign_member__campaign=campaign,
    ).exists()


def _groups(
    campaign: Campaign, members: list[CampaignMember]
) -> list[tuple[str, int | None, list[CampaignMember]]]:
    """(group, preference feature id, members): all, each tier, each region, each
    preference held at PREFERENCE_HELD or more by any member."""
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=[m.customer_id for m in members])}
    groups: dict[tuple[str, int | None], list[CampaignMember]] = defaultdict(list)
    for member in members:
        customer = customers[member.customer_id]
        groups[("all", None)].append(member)
        groups[(f"tier:{customer.tier}", None)].append(member)
        if customer.region:
            groups[(f"region:{customer.region}", None)].append(member)
    held = CustomerPreference.objects.filter(
        customer_id__in=list(customers), value__gte=PREFERENCE_HELD
    ).values_list("customer_id", "feature_id", "feature__code")
    by_customer = {m.customer_id: m for m in members}
    for customer_id, feature_id, code in held:
        groups[(f"preference:{code}", feature_id)].append(by_customer[customer_id])
    return [(group, feature, rows) for (group, feature), rows in sorted(groups.items(), key=str)]


def campaign_finish(
    *, campaign_id: int, at: datetime | None = None, force: bool = False
) -> list[CampaignResult]:
    """Close the campaign: its results by group, kept; the care successes leave the pool.

    Refused while the post-survey may still be answered, unless `force`."""
    at = at or timezone.now()
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("post_survey")
            .get(pk=campaign_id)
        )
        if campaign.status != CampaignStatus.MEASURING:
            raise CampaignError(_("Only a campaign whose post-survey is out can be finished."))
        if not force and reply_window_open(campaign, at=at):
            raise CampaignError(_("The post-survey can still be answered: finish it later."))
        members = list(CampaignMember.objects.filter(campaign=campaign).order_by("pk"))
        actions = "+".join(campaign_actions(campaign))
        results = []
        for group, feature_id, rows in _groups(campaign, members):
            evaluation = members_evaluation(campaign, rows, at=at)
            did = evaluation.did
            results.append(
                CampaignResult(
                    campaign=campaign,
                    group=group[:120],
                    feature_id=feature_id,
                    actions=actions,
                    treated=evaluation.treated,
                    control=evaluation.control,
                    participation_rate=evaluation.row.participation_rate,
                    effect=did.estimate if did else None,
                    effect_low=did.low if did else None,
                    effect_high=did.high if did else None,
                    p_value=did.p_value if did else None,
                    finished_at=at,
                )
            )
        CampaignResult.objects.filter(campaign=campaign).delete()
        results = CampaignResult.objects.bulk_create(results)
        campaign.status, campaign.finished_at = CampaignStatus.FINISHED, at
        campaign.save(update_fields=["status", "finished_at"])
        recovered = [
            m.customer_id
            for m in members
            if m.arm == Arm.TREATED
            and m.participated_at is not None
            and m.after_score is not None
            and m.after_score >= RECOVERED
        ]
        if recovered:
            pool_leave(customer_ids=recovered, reason=ExitReason.CARE_SUCCESS, at=at)
    log.info(
        "campaign %s finished: %s results, %s recovered", campaign.pk, len(results), len(recovered)
    )
    return results


@shared_task(name="care.campaigns.campaigns_finish_due")
def campaigns_finish_due() -> int:
    """Finish every campaign whose post-survey can no longer be answered."""
    now, finished = timezone.now(), 0
    for campaign in Campaign.objects.filter(status=CampaignStatus.MEASURING).select_related(
        "post_survey"
    ):
        if not reply_window_open(campaign, at=now):
            try:
                campaign_finish(campaign_id=campaign.pk, at=now)
                finished += 1
            except CampaignError:
                continue
    return finished
