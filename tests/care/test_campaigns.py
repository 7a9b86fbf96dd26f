"""Starting a campaign: members, the control group, contacts through the budget, quiet
hours; the post-survey's refusals; finishing; what worked for whom."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from care.campaigns import (
    CampaignError,
    campaign_finish,
    campaign_post_survey,
    campaign_start,
    members_contact,
)
from care.knowledge import actions_suggest
from care.models import (
    Arm,
    Campaign,
    CampaignMember,
    CampaignResult,
    CampaignStatus,
    EntryReason,
    Segment,
)
from care.pool import pool_enter
from surveys.dispatch import invitation_send
from surveys.models import (
    Contact,
    ContactKind,
    ContactPolicy,
    Customer,
    Invitation,
    InvitationStatus,
    OutboundMessage,
    Purpose,
    SuppressReason,
    Survey,
)
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def in_pool(customers: list[Customer], at: datetime | None = None) -> None:
    at = at or timezone.now() - timedelta(days=1)
    pool_enter(customer_ids=[c.pk for c in customers], reason=EntryReason.DETRACTOR, at=at)


def sms_campaign(name: str = "c", **fields: object) -> Campaign:
    segment, _ = Segment.objects.get_or_create(name="everyone", defaults={"filters": {}})
    defaults = {
        "segment": segment,
        "sms_offer": True,
        "sms_texts": {"zh-hans": "回复{keyword}参加", "en": "Reply {keyword} to join"},
        "join_keyword": "参加",
        "post_survey": SurveyFactory(),
    }
    return Campaign.objects.create(name=name, **(defaults | fields))


def strata_customers() -> list[Customer]:
    sizes = {("A", "BJ"): 50, ("B", "BJ"): 70, ("C", "SH"): 80}
    strata = [stratum for stratum, n in sizes.items() for _ in range(n)]
    rows = [
        Customer(phone=f"+86137{n:08d}", tier=tier, region=region)
        for n, (tier, region) in enumerate(strata)
    ]
    customers = Customer.objects.bulk_create(rows)
    in_pool(customers)
    return customers


def control_by_stratum(campaign: Campaign) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stratum in CampaignMember.objects.filter(campaign=campaign, arm=Arm.CONTROL).values_list(
        "stratum", flat=True
    ):
        counts[stratum] = counts.get(stratum, 0) + 1
    return counts


def test_the_control_group_is_its_share_of_each_tier_and_region_and_reproducible() -> None:
    strata_customers()
    ContactPolicy.objects.update_or_create(pk=1, defaults={"max_contacts": 10})
    first = campaign_start(campaign_id=sms_campaign("first", seed=11).pk)
    # 10% of 50, 70 and 80: 5, 7 and 8 exactly, 20 of 200.
    assert control_by_stratum(first) == {"A/BJ": 5, "B/BJ": 7, "C/SH": 8}
    assert CampaignMember.objects.filter(campaign=first).count() == 200
    # Only the treated are contacted: one SMS each, none to the control group.
    held_out = set(
        CampaignMember.objects.filter(campaign=first, arm=Arm.CONTROL).values_list(
            "customer_id", flat=True
        )
    )
    sent_to = list(OutboundMessage.objects.values_list("customer_id", flat=True))
    assert len(sent_to) == len(set(sent_to)) == 180
    assert held_out.isdisjoint(sent_to)

    again = campaign_start(campaign_id=sms_campaign("again", seed=11).pk)
    other = campaign_start(campaign_id=sms_campaign("other", seed=12).pk)

    def control(campaign: Campaign) -> set[int]:
        members = CampaignMember.objects.filter(campaign=campaign, arm=Arm.CONTROL)
        return set(members.values_list("customer_id", flat=True))

    assert control(again) == control(first)  # the same seed draws the same customers
    assert control(other) != control(first)
    assert control_by_stratum(other) == {"A/BJ": 5, "B/BJ": 7, "C/SH": 8}


def test_a_larger_share_holds_out_more() -> None:
    strata_customers()
    ContactPolicy.objects.update_or_create(pk=1, defaults={"max_contacts": 10})
    campaign = campaign_start(campaign_id=sms_campaign(control_share=0.25, seed=3).pk)
    # 25% of 50, 70, 80: 12.5, 17.5, 20 -> 50 in all; the two halves go to one each.
    by_stratum = control_by_stratum(campaign)
    assert sum(by_stratum.values()) == 50
    assert by_stratum["C/SH"] == 20
    assert sorted([by_stratum["A/BJ"], by_stratum["B/BJ"]]) in ([12, 18], [13, 17])


def test_the_budget_skips_are_logged_with_their_reason_and_get_no_sms() -> None:
    ContactPolicy.objects.update_or_create(pk=1, defaults={"max_contacts": 1, "window_days": 7})
    busy, stopped, in_case, free = (CustomerFactory() for _ in range(4))
    stopped.opted_out_at = timezone.now()
    stopped.save()
    in_case.in_callback = True
    in_case.save()
    Contact.objects.create(customer=busy, kind=ContactKind.SURVEY, at=timezone.now())
    in_pool([busy, stopped, in_case, free])
    campaign = campaign_start(campaign_id=sms_campaign(control_share=0).pk)

    members = {m.customer_id: m for m in CampaignMember.objects.filter(campaign=campaign)}
    assert members[busy.pk].skipped_reason == "contact_budget"
    assert members[stopped.pk].skipped_reason == "opted_out"
    assert members[in_case.pk].skipped_reason == "open_case"
    assert members[free.pk].skipped_reason == ""
    assert members[free.pk].contacted_at is not None
    assert [m.contacted_at for m in members.values() if m.skipped_reason] == [None] * 3
    assert list(OutboundMessage.objects.values_list("customer_id", flat=True)) == [free.pk]
    assert Contact.objects.filter(kind=ContactKind.CAMPAIGN_SMS).count() == 1

    # The post-survey asks every member; as each is sent, the budget's refusals are
    # recorded as such (the invitation suppressed with the reason).
    assert campaign_post_survey(campaign_id=campaign.pk) == 4
    for invitation_id in Invitation.objects.values_list("pk", flat=True):
        assert invitation_send(invitation_id=invitation_id).outcome == "suppressed"
    invitations = {i.customer_id: i for i in Invitation.objects.filter(purpose=Purpose.CAMPAIGN)}
    assert invitations[busy.pk].suppressed_reason == SuppressReason.CONTACT_BUDGET
    assert invitations[stopped.pk].suppressed_reason == SuppressReason.OPTED_OUT
    assert invitations[in_case.pk].suppressed_reason == SuppressReason.OPEN_CASE
    # free had 1 contact (the SMS) of 1 allowed: the survey is refused too.
    assert invitations[free.pk].suppressed_reason == SuppressReason.CONTACT_BUDGET
    assert {i.status for i in invitations.values()} == {InvitationStatus.SUPPRESSED}
    assert not Contact.objects.filter(kind=ContactKind.CAMPAIGN_SURVEY).exists()


def test_quiet_hours_hold_the_sms_until_morning() -> None:
    ContactPolicy.objects.update_or_create(pk=1, defaults={"max_contacts": 10})
    customer = CustomerFactory(time_zone="Asia/Shanghai")
    in_pool([customer])
    survey = SurveyFactory(quiet_start=time(21, 0), quiet_end=time(8, 0))
    tomorrow = (timezone.now().astimezone(SHANGHAI) + timedelta(days=1)).date()
    night = datetime.combine(tomorrow, time(23, 30), tzinfo=SHANGHAI)
    campaign = campaign_start(
        campaign_id=sms_campaign(control_share=0, post_survey=survey).pk, at=night
    )
    member = CampaignMember.objects.get(campaign=campaign)
    assert (member.contacted_at, member.skipped_reason) == (None, "")
    assert not OutboundMessage.objects.exists()
    assert members_contact(campaign=campaign, at=night + timedelta(hours=1)) == 0  # 00:30
    morning = datetime.combine(tomorrow + timedelta(days=1), time(8, 5), tzinfo=SHANGHAI)
    assert members_contact(campaign=campaign, at=morning) == 1
    member.refresh_from_db()
    assert member.contacted_at == morning
    assert OutboundMessage.objects.get().text.startswith("回复参加参加")


def test_start_and_finish_refuse_what_they_cannot_do() -> None:
    campaign = sms_campaign()
    with pytest.raises(CampaignError, match="no customers"):
        campaign_start(campaign_id=campaign.pk)
    in_pool([CustomerFactory(), CustomerFactory()])
    ContactPolicy.objects.update_or_create(pk=1, defaults={"max_contacts": 10})
    campaign_start(campaign_id=campaign.pk)
    with pytest.raises(CampaignError, match="draft"):
        campaign_start(campaign_id=campaign.pk)
    with pytest.raises(CampaignError, match="post-survey is out"):
        campaign_finish(campaign_id=campaign.pk)
    campaign_post_survey(campaign_id=campaign.pk)
    with pytest.raises(CampaignError, match="still be answered"):
        campaign_finish(campaign_id=campaign.pk)
    later = timezone.now() + timedelta(hours=49)
    with pytest.raises(CampaignError, match="still be answered"):  # not even sent yet
        campaign_finish(campaign_id=campaign.pk, at=later)
    sent = Invitation.objects.filter(purpose=Purpose.CAMPAIGN)
    sent.update(status=InvitationStatus.SENT, expires_at=later - timedelta(hours=1))
    campaign_finish(campaign_id=campaign.pk, at=later)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FINISHED


def test_actions_are_suggested_by_their_effect_for_similar_groups() -> None:
    segment = Segment.objects.create(name="A in BJ", filters={"tiers": ["A"], "regions": ["BJ"]})
    now = timezone.now()

    def result(campaign: Campaign, group: str, actions: str, treated: int, effect: float) -> None:
        CampaignResult.objects.create(
            campaign=campaign, group=group, actions=actions, treated=treated, control=10,
            effect=effect, finished_at=now,
        )  # fmt: skip

    one, two = sms_campaign("one"), sms_campaign("two")
    result(one, "tier:A", "sms", 100, 2.0)
    result(one, "region:BJ", "sms", 300, 4.0)  # sms: (200 + 1200) / 400 = 3.5
    result(two, "tier:A", "call", 50, 6.0)  # call: 6.0
    result(two, "tier:C", "sms+call", 500, 20.0)  # another tier: not counted
    result(two, "all", "sms+call", 500, 9.0)  # the segment names groups: "all" is not asked

    suggestions = actions_suggest(segment)
    assert [(s.actions, s.effect) for s in suggestions] == [("call", 6.0), ("sms", 3.5)]
    assert suggestions[1].groups == ("region:BJ", "tier:A")
    assert suggestions[1].treated == 400


def test_the_keyword_is_found_for_a_whole_chunk_in_one_query() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from care.participation import replies_claim
    from surveys.models import InboundMessage

    ContactPolicy.objects.update_or_create(pk=1, defaults={"max_contacts": 10})
    customers = [CustomerFactory() for _ in range(5)]
    in_pool(customers)
    campaign_start(campaign_id=sms_campaign(control_share=0).pk)
    messages = [
        InboundMessage(pk=n + 1, gateway="t", gateway_message_id=str(n), phone=c.phone, text=text)
        for n, (c, text) in enumerate(
            zip(customers, ["8", "参加", "好的", "２", "参 加"], strict=True)
        )
    ]
    by_phone = {c.phone: c for c in customers}
    with CaptureQueriesContext(connection) as queries:
        claimed = replies_claim(
            messages=[messages[0], messages[2], messages[3]], customers=by_phone
        )
    assert claimed == {}
    assert len(queries) == 1
    assert replies_claim(messages=messages, customers=by_phone) == {2: "campaign"}
    joined = CampaignMember.objects.filter(participated_at__isnull=False)
    assert list(joined.values_list("customer_id", flat=True)) == [customers[1].pk]


def test_the_admin_counts_segments_confirms_a_start_and_shows_the_evaluation(
    admin_client: object,
) -> None:
    from django.test import Client

    client = admin_client
    assert isinstance(client, Client)
    ContactPolicy.objects.update_or_create(pk=1, defaults={"max_contacts": 10})
    in_pool([CustomerFactory(), CustomerFactory(), CustomerFactory()])
    campaign = sms_campaign(control_share=0)

    listed = client.get("/admin/care/segment/")
    assert '<td class="field-customers_now">3</td>' in listed.content.decode()
    refused = client.post(
        "/admin/care/segment/add/", {"name": "bad", "filters": '{"tiers": ["Z"]}'}
    )
    assert "Unknown tiers: Z." in refused.content.decode()
    assert not Segment.objects.filter(name="bad").exists()

    selected = {"action": "start_selected", "_selected_action": [campaign.pk]}
    asked = client.post("/admin/care/campaign/", selected)
    assert "This cannot be undone." in asked.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT  # not before it is confirmed
    client.post("/admin/care/campaign/", selected | {"apply": "1"})
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    page = client.get(f"/admin/care/campaign/{campaign.pk}/change/").content.decode()
    assert "<th>customers covered</th><td>3</td>" in page
    assert "<th>participation rate</th><td>0.0%</td>" in page


def test_the_demo_has_a_finished_campaign_that_worked_and_a_running_one() -> None:
    from django.core.management import call_command

    from care.campaigns import campaign_evaluation
    from nps.demo_care import FINISHED, RUNNING, care_demo_seed
    from nps.demo_history import history_seed

    call_command("seed_demo", "--no-history")  # the teams, the survey, the logins
    history_seed(survey=Survey.objects.get())
    assert care_demo_seed() > 0
    assert care_demo_seed() == 0  # once
    finished = Campaign.objects.get(name=FINISHED)
    assert finished.status == CampaignStatus.FINISHED
    evaluation = campaign_evaluation(finished)
    assert evaluation.did is not None
    assert evaluation.did.significant
    # About +7 treated against +1 control; the control group is drawn by customer id, so
    # the figure moves a little with the ids a database hands out (PostgreSQL's sequences
    # are not reset between tests).
    assert 3 < evaluation.did.estimate < 14
    assert 10 < (evaluation.row.participation_rate or 0) < 25
    groups = set(CampaignResult.objects.filter(campaign=finished).values_list("group", flat=True))
    assert {"all", "tier:A", "tier:B", "tier:C", "preference:channel_sms"} <= groups
    assert Campaign.objects.get(name=RUNNING).status == CampaignStatus.RUNNING


def test_the_beat_tasks_send_due_post_surveys_and_finish_closed_campaigns() -> None:
    from care.campaigns import campaigns_finish_due, campaigns_post_survey_due

    ContactPolicy.objects.update_or_create(pk=1, defaults={"max_contacts": 10})
    in_pool([CustomerFactory(), CustomerFactory()], at=timezone.now() - timedelta(days=20))
    due, later = sms_campaign("due", post_survey_days=14), sms_campaign("later")
    campaign_start(campaign_id=due.pk, at=timezone.now() - timedelta(days=15))
    campaign_start(campaign_id=later.pk, at=timezone.now() - timedelta(days=13))
    assert campaigns_post_survey_due() == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.status, later.status) == (CampaignStatus.MEASURING, CampaignStatus.RUNNING)
    assert campaigns_finish_due() == 0  # the reply window is open
    Campaign.objects.filter(pk=due.pk).update(post_survey_at=timezone.now() - timedelta(days=3))
    Invitation.objects.update(
        status=InvitationStatus.EXPIRED, expires_at=timezone.now() - timedelta(days=1)
    )
    assert campaigns_finish_due() == 1
    due.refresh_from_db()
    assert due.status == CampaignStatus.FINISHED


def test_an_agent_sees_their_care_calls_and_logs_the_outcome_in_the_admin() -> None:
    from django.contrib.auth.models import Group, Permission, User
    from django.test import Client

    from care.models import CareCall, Participation
    from tests.factories import AgentFactory, TeamFactory

    ContactPolicy.objects.update_or_create(pk=1, defaults={"max_contacts": 10})
    team = TeamFactory(name="Callers")
    users = [User.objects.create_user(f"agent{n}", is_staff=True) for n in range(2)]
    group = Group.objects.create(name="care callers")
    group.permissions.set(Permission.objects.filter(codename__in=["view_carecall",
                                                                  "change_carecall"]))  # fmt: skip
    for user in users:
        user.groups.add(group)
    AgentFactory(team=team, user=users[0], capacity=1)
    AgentFactory(team=team, user=users[1], capacity=1)
    in_pool([CustomerFactory(), CustomerFactory()])
    campaign = sms_campaign(control_share=0, sms_offer=False, care_calls=True, call_team=team)
    campaign_start(campaign_id=campaign.pk)
    from care.campaigns import care_calls_assign

    assert care_calls_assign() == 2  # one each: capacity 1
    client = Client()
    client.force_login(users[0])
    mine = CareCall.objects.get(agent__user=users[0])
    theirs = CareCall.objects.get(agent__user=users[1])
    listed = client.get("/admin/care/carecall/").content.decode()
    assert f"/admin/care/carecall/{mine.pk}/change/" in listed
    assert f"/admin/care/carecall/{theirs.pk}/change/" not in listed
    client.post(f"/admin/care/carecall/{mine.pk}/change/", {"outcome": "joined", "note": "好"})
    mine.refresh_from_db()
    assert (mine.status, mine.outcome, mine.note) == ("done", "joined", "好")
    assert mine.member.participation == Participation.CALL


def test_one_reply_at_a_time_is_claimed_too_and_only_while_the_campaign_runs(
    settings: object,
) -> None:
    from surveys.models import InboundMessage
    from surveys.replies import reply_process

    settings.NPS_REPLY_CLAIM = "care.participation.replies_claim"  # type: ignore[attr-defined]
    ContactPolicy.objects.update_or_create(pk=1, defaults={"max_contacts": 10})
    joiner, late = CustomerFactory(), CustomerFactory()
    in_pool([joiner, late])
    campaign = campaign_start(campaign_id=sms_campaign(control_share=0).pk)

    def reply(customer: Customer, n: int) -> str:
        message = InboundMessage.objects.create(
            gateway="t", gateway_message_id=str(n), phone=customer.phone, text=" 参加 ",
            payload={},
        )  # fmt: skip
        return reply_process(message_id=message.pk)

    assert reply(joiner, 1) == "campaign"
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.MEASURING)
    assert reply(late, 2) == "no_open_survey"  # the campaign no longer runs
    joined = CampaignMember.objects.filter(participated_at__isnull=False)
    assert list(joined.values_list("customer_id", flat=True)) == [joiner.pk]
