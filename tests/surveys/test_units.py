"""Units and attribution: mapping a CRM id in the admin attributes the interactions already
recorded with it, their cases and their rollup rows; the unit admin staff use."""

from datetime import date, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from followups.models import Case
from nps import tasks
from nps.models import NpsDaily
from nps.reporting.contract import Filters
from nps.reporting.days import reporting_zone
from nps.reporting.queries import nps_counts, unit_filter
from nps.reporting.refresh import rollups_refresh_day
from surveys.dispatch import invitation_send
from surveys.gateways.base import InboundSMS
from surveys.models import Interaction, Response, Unit, UnitCode, UnitKind
from surveys.replies import reply_process, reply_store
from surveys.units import unit_code_map, units_in_tree_order, unmapped_unit_codes
from tests.conftest import interaction_payload
from tests.factories import AgentFactory, InteractionFactory, TeamFactory
from tests.reporting.test_rollups import case_create, response_create

pytestmark = pytest.mark.django_db
PHONE = "+8613800138000"


def tree() -> dict[str, Unit]:
    province = Unit.objects.create(name="Province", kind=UnitKind.PROVINCE)
    lhasa = Unit.objects.create(name="Lhasa", kind=UnitKind.CITY, parent=province)
    store = Unit.objects.create(name="Store 1", kind=UnitKind.STORE, parent=lhasa)
    return {"Province": province, "Lhasa": lhasa, "Store 1": store}


def local_day(at: datetime) -> date:
    return timezone.localtime(at, reporting_zone()).date()


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The days handed to the broker for a rollup refresh (the broker itself is the outside)."""
    seen: list[list[str]] = []
    monkeypatch.setattr(tasks.refresh_rollup_days, "delay", seen.append)
    return seen


@override_settings(NPS_SEND_GATEWAY="console")
@pytest.mark.usefixtures("survey")
def test_mapping_a_code_in_the_admin_gives_the_interaction_case_and_figures_their_unit(
    crm_client: APIClient,
    admin_client: Client,
    queued: list[list[str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    AgentFactory(team=TeamFactory(regions=["BJ"]))
    posted = crm_client.post(
        "/api/v1/interactions/", interaction_payload(unit_code="STORE-9"), format="json"
    )
    assert posted.status_code == 201
    assert (posted.json()["unit_code"], posted.json()["unit"]) == ("STORE-9", None)
    interaction = Interaction.objects.get()
    invitation = interaction.invitations.get()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    stored = reply_store(gateway="simulator", sms=InboundSMS("MO1", PHONE, "2 太慢"))
    reply_process(message_id=stored.message.pk)
    case = Case.objects.get()
    assert case.unit_id is None
    answered = local_day(Response.objects.get().created_at)
    rollups_refresh_day(day=answered)
    units = tree()
    store_filter = Filters(answered, answered, units=unit_filter(units["Lhasa"].pk))
    assert nps_counts(store_filter).n == 0  # not mapped: in no unit's figures

    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post(
            "/admin/surveys/unitcode/add/",
            {"code": "STORE-9", "unit": units["Store 1"].pk, "_save": "Save"},
            follow=True,
        )
    assert "1 interaction attributed to Store 1." in page.content.decode()
    interaction.refresh_from_db()
    case.refresh_from_db()
    assert (interaction.unit_id, case.unit_id) == (units["Store 1"].pk, units["Store 1"].pk)
    expected_days = sorted(
        {local_day(interaction.occurred_at), answered, local_day(case.opened_at)}
    )
    assert queued == [[day.isoformat() for day in expected_days]]
    assert tasks.refresh_rollup_days(queued[0]) == len(expected_days)
    counts = nps_counts(store_filter)
    assert (counts.n, counts.detractors) == (1, 1)
    assert NpsDaily.objects.filter(day=answered, unit_id=units["Store 1"].pk).exists()


def test_a_code_added_on_the_unit_page_attributes_and_says_how_many(
    admin_client: Client, queued: list[list[str]], django_capture_on_commit_callbacks: Any
) -> None:
    units = tree()
    for _n in range(3):
        InteractionFactory(unit_code="HOTLINE-1")
    InteractionFactory(unit_code="OTHER")
    store = units["Store 1"]
    form = {
        "name": store.name, "kind": store.kind, "parent": units["Lhasa"].pk, "is_active": "on",
        "codes-TOTAL_FORMS": "1", "codes-INITIAL_FORMS": "0", "codes-MIN_NUM_FORMS": "0",
        "codes-MAX_NUM_FORMS": "1000", "codes-0-code": "HOTLINE-1", "codes-0-id": "",
        "codes-0-unit": store.pk, "_continue": "Save",
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post(f"/admin/surveys/unit/{store.pk}/change/", form, follow=True)
    assert "3 interactions attributed to Store 1." in page.content.decode()
    assert Interaction.objects.filter(unit=store).count() == 3
    assert Interaction.objects.filter(unit_code="OTHER", unit__isnull=True).count() == 1
    assert len(queued) == 1


def test_a_case_someone_gave_a_unit_keeps_it(queued: list[list[str]]) -> None:
    units = tree()
    response = response_create(at=timezone.now(), score=2)
    Interaction.objects.filter(pk=response.interaction_id).update(unit_code="S-1")
    kept = case_create(response, unit=units["Lhasa"])
    assert unit_code_map("S-1", units["Store 1"]) == 1
    kept.refresh_from_db()
    assert kept.unit_id == units["Lhasa"].pk
    assert Interaction.objects.get().unit_id == units["Store 1"].pk


def test_a_code_mapped_again_attributes_nothing_twice(queued: list[list[str]]) -> None:
    units = tree()
    InteractionFactory(unit_code="S-1")
    assert unit_code_map("S-1", units["Store 1"]) == 1
    assert unit_code_map("S-1", units["Store 1"]) == 0
    assert len(queued) == 0  # no commit in this test's transaction: nothing published


def test_the_tree_lists_parents_first_and_leaves_out_inactive_subtrees() -> None:
    units = tree()
    closed = Unit.objects.create(name="A closed city", kind=UnitKind.CITY,
                                 parent=units["Province"], is_active=False)  # fmt: skip
    Unit.objects.create(name="Under the closed city", kind=UnitKind.STORE, parent=closed)
    quality = Unit.objects.create(name="Quality", kind=UnitKind.DEPARTMENT,
                                  parent=units["Province"], is_quality_department=True)  # fmt: skip
    assert units_in_tree_order(active_only=True) == [
        (units["Province"].pk, 0, "Province"),
        (units["Lhasa"].pk, 1, "Lhasa"),
        (units["Store 1"].pk, 2, "Store 1"),
        (quality.pk, 1, "Quality"),
    ]
    assert len(units_in_tree_order()) == 6


def test_unmapped_codes_are_counted_and_mapped_ones_left_out() -> None:
    units = tree()
    for code in ["A-1", "A-1", "B-2", "", "MAPPED"]:
        InteractionFactory(unit_code=code)
    UnitCode.objects.create(code="MAPPED", unit=units["Store 1"])
    rows = [(row["unit_code"], row["interactions"]) for row in unmapped_unit_codes()]
    assert rows == [("A-1", 2), ("B-2", 1)]


def test_the_unit_list_shows_each_units_path_kind_and_owners(admin_client: Client) -> None:
    units = tree()
    units["Store 1"].owners.add(User.objects.create_user("zhaxi", first_name="Zhaxi"))
    html = admin_client.get("/admin/surveys/unit/").content.decode()
    assert "Province › Lhasa › Store 1" in html
    assert "Zhaxi" in html
    assert "City branch" in html


def test_the_unmapped_page_links_each_code_to_its_interactions_and_the_mapping_form(
    admin_client: Client,
) -> None:
    InteractionFactory(unit_code="A-1")
    InteractionFactory(unit_code="A-1")
    html = admin_client.get("/admin/surveys/unitcode/unmapped/").content.decode()
    assert "/admin/surveys/unitcode/add/?code=A-1" in html
    assert '/admin/surveys/interaction/?unit_code=A-1">2</a>' in html
    form = admin_client.get("/admin/surveys/unitcode/add/?code=A-1").content.decode()
    assert 'value="A-1"' in form


def test_the_interactions_list_filters_unmapped_ids(admin_client: Client) -> None:
    units = tree()
    InteractionFactory(unit_code="A-1", external_id="CRM-UNMAPPED")
    InteractionFactory(unit_code="A-2", unit=units["Store 1"], external_id="CRM-MAPPED")
    InteractionFactory(external_id="CRM-NONE")
    html = admin_client.get("/admin/surveys/interaction/?attribution=unmapped").content.decode()
    assert "CRM-UNMAPPED" in html
    assert "CRM-MAPPED" not in html
    assert "CRM-NONE" not in html


def test_staff_without_unit_permissions_cannot_open_the_unmapped_page(client: Client) -> None:
    client.force_login(User.objects.create_user("staff", is_staff=True))
    assert client.get("/admin/surveys/unitcode/unmapped/").status_code == 403
