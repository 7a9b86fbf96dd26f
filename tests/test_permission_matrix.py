"""Permissions as a matrix: every admin page, API endpoint and dashboard view, per persona.

The pages are found, not listed: the URL resolver (every pattern, the admin's included),
the admin's registry (which object each model admin's URLs open), the dashboard's export
tables and the configured gateways. Each is asked once per persona and the answer compared
with its row in tests/permission_matrix_expectations.py; a page without a row fails.
A few row-level checks follow: the matrix says who may open a page, these what they see.
"""

import csv
import io
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db.models import Model
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern
from django.utils import timezone
from rest_framework.authtoken.models import Token, TokenProxy

from care.models import (
    Arm,
    Campaign,
    CampaignMember,
    CampaignResult,
    CareCall,
    EntryReason,
    MemberKind,
    PoolMember,
    PoolPolicy,
    PreferenceClass,
    PreferenceFeature,
    RiskModel,
    RiskScore,
    Segment,
)
from followups.models import (
    AccountabilityEntry,
    Agent,
    Case,
    CaseStatus,
    DigestDelivery,
    Holiday,
    Priority,
    Problem,
    RoutingRule,
    ServiceStandard,
)
from followups.permissions import CRM
from followups.problems import problem_open
from nps.dashboard.exports import TABLES
from nps.heartbeat import heartbeat_record
from nps.models import (
    Alert,
    AlertKind,
    AlertMetric,
    AlertRule,
    EventType,
    Report,
    ReportCadence,
    ReportSubscription,
    Target,
    TargetMetric,
    WebhookDelivery,
    WebhookSubscription,
)
from nps.reporting.rebuild import rollups_rebuild
from surveys.models import (
    Category,
    Contact,
    ContactKind,
    ContactPolicy,
    Customer,
    DeliveryReceipt,
    GatewayPrice,
    GatewayTemplate,
    InboundMessage,
    Interaction,
    InteractionImport,
    Invitation,
    InvitationStatus,
    OutboundKind,
    OutboundMessage,
    ReasonCategory,
    RecategorisationRun,
    Response,
    Survey,
    TierThresholds,
    Unit,
    UnitCode,
    UnitKind,
)
from tests.followups.personas import Personas, assigned_case, personas_make
from tests.permission_matrix_expectations import (
    ACTS,
    DONE,
    EXPECTED,
    IGNORED,
    LOGIN,
    OK,
    PERSONAS,
    TO_CHANGE,
)

# ---------------------------------------------------------------- every URL, found


@dataclass(frozen=True)
class Page:
    key: str  # its row in EXPECTED
    name: str | None  # namespaced URL name; None for an unnamed pattern
    route: str  # the full route, from the root
    params: tuple[str, ...]
    model: type[Model] | None = None  # the model admin's model, for its object's id
    variant: str = ""  # the app label, export table or gateway


def _params(pattern: Any) -> tuple[str, ...]:
    if isinstance(pattern, RoutePattern):  # path()
        return tuple(pattern.converters)
    return tuple(pattern.regex.groupindex)  # re_path()


def _walk(
    patterns: list[Any], prefix: str = "", ns: str = "", params: tuple[str, ...] = ()
) -> Iterator[tuple[str | None, str, tuple[str, ...]]]:
    for p in patterns:
        route, found = prefix + str(p.pattern), params + _params(p.pattern)
        if isinstance(p, URLResolver):
            inner = f"{ns}{p.namespace}:" if p.namespace else ns
            yield from _walk(p.url_patterns, route, inner, found)
        elif isinstance(p, URLPattern):
            yield (f"{ns}{p.name}" if p.name else None), route, found


def pages() -> list[Page]:
    """Every URL of the project, once per value where a URL takes a fixed set of values."""
    admin_root = reverse("admin:index").lstrip("/")
    models = {
        f"{admin_root}{m._meta.app_label}/{m._meta.model_name}/": m for m in admin.site._registry
    }
    found = []
    for name, route, params in _walk(get_resolver().url_patterns):
        key = name or f"/{route}"
        model = next((m for prefix, m in models.items() if route.startswith(prefix)), None)
        if name == "admin:app_list":
            labels = sorted({m._meta.app_label for m in admin.site._registry})
            found += [Page(f"{key}[{a}]", name, route, params, variant=a) for a in labels]
        elif name in ("webhook-inbound", "webhook-status"):
            found += [
                Page(f"{key}[{g}]", name, route, params, variant=g) for g in settings.NPS_GATEWAYS
            ]
        elif name == "dashboard":
            found.append(Page(key, name, route, params))
            found += [Page(f"{key}?export={t}", name, route, params, variant=t) for t in TABLES]
        else:
            found.append(Page(key, name, route, params, model))
    return found


PAGES = pages()


def test_every_url_has_a_row_and_every_row_a_url() -> None:
    keys = [page.key for page in PAGES]
    assert len(keys) == len(set(keys))
    assert sorted(set(keys) - set(EXPECTED)) == [], "URLs without a row in the matrix"
    assert sorted(set(EXPECTED) - set(keys)) == [], "rows for URLs that no longer exist"


def test_every_model_admin_has_its_pages_in_the_matrix() -> None:
    """The walk sees each model admin's URLs, custom ones (get_urls) included."""
    for model, model_admin in admin.site._registry.items():
        for pattern in model_admin.get_urls():
            found = [
                p for p in PAGES if p.model is model and p.route.endswith(str(pattern.pattern))
            ]
            assert found, f"{model._meta.label}: {pattern.pattern} not walked"


# ---------------------------------------------------------------- the people and the data


MATRIX_CAMPAIGN = "Data pack"  # North's: Lena leads the team that calls for it
MATRIX_OFFER = "MATRIX-OFFER-1"


@dataclass
class World:
    people: Personas
    case: Case  # Ann's, in North: the case every case page opens
    other_case: Case  # Bob's, in South
    token: str  # the CRM's
    objects: dict[type[Model], Model]  # the object each model admin's URLs open


def answered(*, phone: str, region: str, comment: str = "", score: int = 2) -> Response:
    customer = Customer.objects.create(phone=phone, region=region, tier="B")
    interaction = Interaction.objects.create(
        external_id=f"CRM-{phone}", customer=customer, touchpoint="hotline",
        occurred_at=timezone.now(),
    )  # fmt: skip
    invitation = Invitation.objects.create(
        interaction=interaction, customer=customer, status=InvitationStatus.RESPONDED,
        gateway="console", provider_message_id=f"msg-{phone}", sent_at=timezone.now(),
    )  # fmt: skip
    return Response.objects.create(
        invitation=invitation, customer=customer, interaction=interaction, score=score,
        category=Category.for_score(score), comment=comment,
    )  # fmt: skip


def world_make() -> World:
    people = personas_make()
    case = assigned_case(lambda **kw: answered(comment="北区投诉：信号差", **kw))
    other_case = assigned_case(
        lambda **kw: answered(comment="南区投诉：扣费", **kw), phone="+8613900000002", region="SH"
    )
    assert case.agent is not None
    assert case.agent.user == people.agent
    assert other_case.agent is not None
    assert other_case.agent.user == people.other_agent
    invitation = case.response.invitation
    survey = Survey.objects.create(name="After-service NPS")
    InboundMessage.objects.create(
        gateway="console", gateway_message_id="in-1", phone=case.customer.phone, text="2",
        payload={"body": "2"}, invitation=invitation,
    )  # fmt: skip
    DeliveryReceipt.objects.create(
        gateway="console", provider_message_id=invitation.provider_message_id,
        status=InvitationStatus.DELIVERED, payload={"status": "delivered"},
    )  # fmt: skip
    OutboundMessage.objects.create(
        customer=case.customer, invitation=invitation, kind=OutboundKind.FOLLOWUP_QUESTION,
        language="en", text="Why?",
    )  # fmt: skip
    reason, _created = ReasonCategory.objects.get_or_create(
        code="network", defaults={"name_en": "Network"}
    )
    crm = User.objects.create_user("crm")
    crm.groups.add(Group.objects.get(name=CRM))  # its scopes: interactions, cases
    token = Token.objects.create(user=crm)
    segment = Segment.objects.create(name="Detractors", filters={"kind": "explicit"})
    campaign = Campaign.objects.create(name=MATRIX_CAMPAIGN, segment=segment, care_calls=True,
                                       call_team=people.team)  # fmt: skip
    member = CampaignMember.objects.create(campaign=campaign, customer=case.customer,
                                           arm=Arm.TREATED, offer_code=MATRIX_OFFER)  # fmt: skip
    CampaignResult.objects.create(campaign=campaign, group="all", actions="call", treated=1,
                                  control=0, finished_at=timezone.now())  # fmt: skip
    risk_model = RiskModel.objects.create(
        algorithm="logistic regression", trained_from=timezone.now(), trained_to=timezone.now(),
        validated_to=timezone.now(), train_size=100, validation_size=50, validation_positives=10,
    )  # fmt: skip
    hook = WebhookSubscription.objects.create(
        name="CRM", url="https://crm.example.com/hooks", event_types=[EventType.CASE_OPENED]
    )
    # Accountability: a unit nobody of the personas owns, its problem, target, rule, alert
    # and report (the pages are scoped by unit: supervisors everything).
    unit = Unit.objects.create(name="North", kind=UnitKind.CITY)
    problem = problem_open(title="Weak signal", responsible_unit=unit)
    today = timezone.localdate()
    rule = AlertRule.objects.create(
        name="Detractor share", kind=AlertKind.THRESHOLD, metric=AlertMetric.DETRACTOR_SHARE,
        threshold=30,
    )  # fmt: skip
    report = Report.objects.create(
        unit=unit, cadence=ReportCadence.MONTHLY, period_start=today, period_end=today,
        html="<p>report</p>", pdf=b"%PDF-1.4",
    )  # fmt: skip
    objects: dict[type[Model], Model] = {
        Customer: case.customer, Interaction: case.response.interaction, Invitation: invitation,
        Response: case.response, Case: case, Survey: survey, ReasonCategory: reason,
        RecategorisationRun: RecategorisationRun.objects.create(total=1),
        InboundMessage: InboundMessage.objects.get(),
        DeliveryReceipt: DeliveryReceipt.objects.get(),
        OutboundMessage: OutboundMessage.objects.get(),
        DigestDelivery: DigestDelivery.objects.create(user=people.lead, date=timezone.localdate()),
        type(people.team): people.team, type(case.agent): case.agent,
        RoutingRule: RoutingRule.objects.create(order=10, touchpoint="store_own", team=people.team),
        Holiday: Holiday.objects.create(date=date(2026, 10, 1), name="National Day"),
        ServiceStandard: ServiceStandard.objects.get(tier="A", priority="P1"),
        TierThresholds: TierThresholds.current(),
        GatewayTemplate: GatewayTemplate.objects.create(
            gateway="console", kind="survey", language="zh-hans", code="SMS_1"
        ),
        GatewayPrice: GatewayPrice.objects.create(gateway="console", price_per_segment=1),
        InteractionImport: InteractionImport.objects.create(
            file="/nowhere/store.csv", filename="store.csv"
        ),
        ContactPolicy: ContactPolicy.current(),
        Contact: Contact.objects.create(
            customer=case.customer, kind=ContactKind.SURVEY, at=timezone.now(), source="inv"
        ),
        PreferenceClass: PreferenceClass.objects.get(code="channel"),
        PreferenceFeature: PreferenceFeature.objects.get(code="channel_sms"),
        Segment: segment, Campaign: campaign, CampaignMember: member,
        CareCall: CareCall.objects.create(member=member, team=people.team),
        CampaignResult: CampaignResult.objects.get(),
        PoolMember: PoolMember.objects.create(
            customer=case.customer, kind=MemberKind.EXPLICIT, reason=EntryReason.DETRACTOR,
            entered_at=timezone.now(),
        ),
        PoolPolicy: PoolPolicy.current(),
        RiskModel: risk_model,
        RiskScore: RiskScore.objects.create(
            customer=case.customer, risk_model=risk_model, score=0.4, scored_at=timezone.now()
        ),
        User: people.agent, Group: people.agent.groups.get(), TokenProxy: TokenProxy.objects.get(),
        WebhookSubscription: hook,
        WebhookDelivery: WebhookDelivery.objects.create(
            subscription=hook, event_type=EventType.CASE_OPENED, event_id=uuid.uuid4(),
            at=timezone.now(), queued_at=timezone.now(), next_attempt_at=timezone.now(),
        ),
        AccessAttempt: AccessAttempt.objects.create(
            username="east2", ip_address="203.0.113.7", failures_since_start=5
        ),
        Unit: unit, UnitCode: UnitCode.objects.create(code="S-1", unit=unit),
        Problem: problem,
        AccountabilityEntry: AccountabilityEntry.objects.create(
            problem=problem, unit=unit, finding="Closed late"
        ),
        Target: Target.objects.create(
            unit=unit, metric=TargetMetric.NPS, period_start=today, period_end=today, value=30
        ),
        AlertRule: rule,
        Alert: Alert.objects.create(
            rule=rule, key=f"unit={unit.pk}", unit=unit, window_start=today, window_end=today,
            value=42.0, message="Detractor share 42%",
        ),
        Report: report,
        ReportSubscription: ReportSubscription.objects.create(
            user=people.supervisor, unit=unit, cadence=ReportCadence.MONTHLY
        ),
    }  # fmt: skip
    return World(people, case, other_case, token.key, objects)


@pytest.fixture
def world(db: Any) -> World:
    cache.clear()  # the API's throttle counts live there
    # /health/'s beat check reads beat's heartbeat from the run's broker: recorded here, so
    # the answer does not depend on whether an earlier test ran a beat.
    heartbeat_record(at=timezone.now())
    return world_make()


def client_for(persona: str, world: World) -> Client:
    if persona == "api_token":
        return Client(headers={"Authorization": f"Token {world.token}"})
    client = Client()
    user = {"agent": world.people.agent, "team_lead": world.people.lead,
            "supervisor": world.people.supervisor}.get(persona)  # fmt: skip
    if user is not None:
        client.force_login(user)
    return client


# ---------------------------------------------------------------- asking each page


def fill(page: Page, param: str, world: World) -> str:
    """The value of one URL parameter: the model admin's object, the page's variant..."""
    if page.model is not None:
        model = page.model
        assert model in world.objects, f"world_make makes no {model.__name__} for {page.key}"
        return str(world.objects[model].pk)
    values = {
        "app_label": page.variant, "gateway": page.variant,
        "pk": str(world.case.pk if page.name == "api-case" else world.case.response.pk),
        "content_type_id": str(ContentType.objects.get_for_model(Case).pk),
        "object_id": str(world.case.pk), "url": "no-such-page/",
        "campaign_id": str(Campaign.objects.get(name=MATRIX_CAMPAIGN).pk),
        "code": MATRIX_OFFER,
        "token": "no-such-survey-link-token",  # surveys.views.survey_link: 404 for all
        "problem_id": str(Problem.objects.get().pk), "step": "rectifying",
    }  # fmt: skip
    if page.name in ("reports:detail", "reports:pdf"):
        return str(Report.objects.get().pk)
    assert param in values, f"{page.key}: no value for its parameter {param!r}; add one here"
    return values[param]


def url_of(page: Page, world: World) -> str:
    kwargs = {param: fill(page, param, world) for param in page.params}
    if page.name is not None:
        return reverse(page.name, kwargs=kwargs)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: kwargs[m[1]], page.route)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: kwargs[m[1]], path)
    return "/" + path.lstrip("^").rstrip("$")


def ask(client: Client, page: Page, url: str, persona: str) -> HttpResponse:
    if page.name == "api-interactions":
        body = {
            "external_id": f"MATRIX-{persona}", "customer": {"phone": "13800138000"},
            "touchpoint": "hotline", "occurred_at": "2026-11-20T08:00:00Z",
        }  # fmt: skip
        return client.post(url, body, content_type="application/json")
    if page.name in ("webhook-inbound", "webhook-status"):
        return client.post(url, {"from": "+8613800138000", "body": "9"}, "application/json")
    if page.name == "api-care-offer-redeem":
        return client.post(url)
    if page.name == "api-cases":  # a customer's cases: asked by one of the filters
        return client.get(url, {"interaction": "CRM-MATRIX"})
    if page.name == "set_language":
        return client.post(url, {"language": "en", "next": "/dashboard/"})
    if page.name == "admin:logout":
        return client.post(url)
    if page.name == "admin:autocomplete":
        query = {"app_label": "surveys", "model_name": "interaction", "field_name": "customer"}
        return client.get(url, query)
    if page.name == "dashboard" and page.variant:
        return client.get(url, {"export": page.variant})
    return client.get(url)


def outcome(answer: HttpResponse, asked: str, change_page: str) -> str:
    """The answer in the matrix's words: "200", "403", LOGIN, "302 /somewhere/"..."""
    if answer.status_code not in (301, 302):
        return str(answer.status_code)
    location = answer["Location"]
    target = urlsplit(location)
    if target.path == reverse("admin:login"):
        nexts = parse_qs(target.query).get("next", [])
        return LOGIN if nexts == [asked] else f"login, then {nexts}"
    if location == change_page:
        return TO_CHANGE
    return f"{answer.status_code} {location}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.key)
def test_each_persona_gets_what_the_matrix_says(world: World, page: Page) -> None:
    assert page.key in EXPECTED, f"{page.key} ({page.route}) has no row in the matrix"
    url = url_of(page, world)
    got = {}
    for persona in PERSONAS:
        answer = ask(client_for(persona, world), page, url, persona)
        asked = answer.request["PATH_INFO"]
        if answer.request.get("QUERY_STRING") and answer.request["REQUEST_METHOD"] == "GET":
            asked += "?" + answer.request["QUERY_STRING"]
        got[persona] = outcome(answer, asked, change_page=f"{url}change/")
    assert got == dict(zip(PERSONAS, EXPECTED[page.key], strict=True)), url


def test_a_supervisors_token_opens_the_api_but_not_the_admin_or_the_dashboard(
    world: World,
) -> None:
    """The CRM token is no staff user; a staff user's token is still no session."""
    key = Token.objects.create(user=world.people.supervisor).key
    client = Client(headers={"Authorization": f"Token {key}"})
    assert client.get("/api/v1/responses/").status_code == 200
    for url in ("/admin/", "/admin/followups/case/", "/dashboard/", "/dashboard/?export=trend"):
        assert outcome(client.get(url), url, "") == LOGIN, url


# ---------------------------------------------------------------- acts that are not pages


def management_data(client: Client, url: str) -> dict[str, Any]:
    """A change form's inline management fields, as the browser posts them with the form."""
    page = client.get(url)
    if page.status_code != 200:
        return {}
    data: dict[str, Any] = {}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data |= {f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()}
    return data


def consent_act(client: Client, world: World, *, action: str, opted_out: bool) -> tuple[Any, bool]:
    """Run a consent action (confirmed, with a reason) on a customer opted out or not."""
    customers = Customer.objects.filter(pk=world.case.customer_id)
    customers.update(opted_out_at=timezone.now() if opted_out else None)
    body = {"action": action, "_selected_action": [world.case.customer_id], "apply": "1"}
    answer = client.post(
        reverse("admin:surveys_customer_changelist"), body | {"reason": "Asked on the hotline"}
    )
    return answer, customers.get().is_opted_out != opted_out


def priority_act(client: Client, world: World, *, in_case_form: bool) -> tuple[Any, bool]:
    """Ask to lower the case from P2 to P3, through the priority form or the case's form."""
    cases = Case.objects.filter(pk=world.case.pk)
    cases.update(priority=Priority.P2)
    if in_case_form:
        url = reverse("admin:followups_case_change", args=[world.case.pk])
        answer = client.post(url, management_data(client, url) | {"priority": "P3"})
    else:
        url = reverse("admin:followups_case_priority", args=[world.case.pk])
        answer = client.post(url, {"priority": "P3", "reason": "The customer is calm now"})
    return answer, cases.get().priority == Priority.P3


def transfer_act(client: Client, world: World) -> tuple[Any, bool]:
    """Ask to move Ann's North case to South's queue, with a reason."""
    cases = Case.objects.filter(pk=world.case.pk)
    ann = Agent.objects.get(user=world.people.agent)
    cases.update(team=world.people.team, agent=ann, status=CaseStatus.ASSIGNED, team_fixed=False)
    url = reverse("admin:followups_case_transfer", args=[world.case.pk])
    answer = client.post(url, {"team": world.people.other_team.pk, "reason": "Shanghai store"})
    return answer, cases.get().team_id == world.people.other_team.pk


ACT_RUNS: dict[str, Callable[[Client, World], tuple[Any, bool]]] = {
    "customer: mark opted out": partial(consent_act, action="mark_opted_out", opted_out=False),
    "customer: opt back in": partial(consent_act, action="opt_back_in", opted_out=True),
    "case: change priority": partial(priority_act, in_case_form=False),
    "case: priority in the case form": partial(priority_act, in_case_form=True),
    "case: transfer to another team": transfer_act,
}


def test_every_act_has_a_row() -> None:
    assert set(ACT_RUNS) == set(ACTS)


@pytest.mark.parametrize("name", ACTS)
def test_each_persona_may_do_what_the_matrix_says(world: World, name: str) -> None:
    got = {}
    for persona in PERSONAS:
        answer, changed = ACT_RUNS[name](client_for(persona, world), world)
        said = outcome(answer, answer.request["PATH_INFO"], change_page="")
        got[persona] = DONE if changed else IGNORED if said == OK or said[:4] == "302 " else said
    assert got == dict(zip(PERSONAS, ACTS[name], strict=True))


# ---------------------------------------------------------------- what each one sees


def test_the_case_list_shows_each_persona_only_their_rows(world: World) -> None:
    seen = {}
    for persona in ("agent", "team_lead", "supervisor"):
        page = client_for(persona, world).get(reverse("admin:followups_case_changelist"), {"q": ""})
        seen[persona] = set(page.context["cl"].result_list)
    mine, other = world.case, world.other_case
    assert seen == {"agent": {mine}, "team_lead": {mine}, "supervisor": {mine, other}}


def test_a_case_outside_ones_rows_does_not_open_by_url(world: World) -> None:
    other = world.other_case.pk
    for persona in ("agent", "team_lead"):
        client = client_for(persona, world)
        change = client.get(reverse("admin:followups_case_change", args=[other]))
        assert (change.status_code, change["Location"]) == (302, reverse("admin:index"))
        attempt = client.get(reverse("admin:followups_case_attempt", args=[other]))
        assert attempt.status_code == 403


def verbatims(client: Client, day: str, **params: Any) -> str:
    answer = client.get("/dashboard/", {"export": "verbatims", "start": day, "end": day, **params})
    assert answer.status_code == 200
    return "".join(row[4] for row in csv.reader(io.StringIO(answer.content.decode())))


def test_a_team_leads_dashboard_holds_only_their_teams_data(world: World) -> None:
    rollups_rebuild()
    zone = ZoneInfo(settings.NPS_REPORTING_TIME_ZONE)
    day = world.case.response.created_at.astimezone(zone).date().isoformat()
    north, south = world.case.response.comment, world.other_case.response.comment
    lead, supervisor = client_for("team_lead", world), client_for("supervisor", world)
    assert north in verbatims(lead, day)
    assert south not in verbatims(lead, day)
    # asking for the other team is not enough
    assert south not in verbatims(lead, day, team=world.people.other_team.pk)
    assert north in verbatims(supervisor, day)
    assert south in verbatims(supervisor, day)
    page = lead.get("/dashboard/", {"start": day, "end": day}).content.decode()
    assert north in page
    assert south not in page
    assert world.people.other_team.name not in page  # not even offered as a filter


def test_answers_through_the_api_only_for_those_who_may_read_them(world: World) -> None:
    url = "/api/v1/responses/"
    read = client_for("supervisor", world).get(url).json()["results"]
    assert {r["id"] for r in read} == {world.case.response.pk, world.other_case.response.pk}
    for persona in ("agent", "team_lead", "api_token"):
        assert client_for(persona, world).get(url).status_code == 403, persona
