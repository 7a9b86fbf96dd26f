"""Migration 0012: a resolved case keeps its one root cause, now in its list of root causes."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("followups", "0011_case_hold")]
AFTER = [("followups", "0012_staff_time_zone_and_case_root_causes")]


def migrated_to(target: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def case_rows(apps: Any, *, phone: str, cause: Any) -> int:
    """A customer's answer and its case, in the models of the migration state."""
    at = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    customer = apps.get_model("surveys", "Customer").objects.create(phone=phone, language="zh-hans")
    interaction = apps.get_model("surveys", "Interaction").objects.create(
        external_id=f"CRM-{phone}", customer=customer, touchpoint="hotline", occurred_at=at
    )
    invitation = apps.get_model("surveys", "Invitation").objects.create(
        interaction=interaction, customer=customer, status="responded"
    )
    response = apps.get_model("surveys", "Response").objects.create(
        invitation=invitation, customer=customer, interaction=interaction, score=2,
        category="detractor",
    )  # fmt: skip
    case = apps.get_model("followups", "Case").objects.create(
        response=response, customer=customer, priority="P2", status="resolved",
        sla_due_at=at + timedelta(hours=8), root_cause=cause,
    )  # fmt: skip
    return case.pk


@pytest.mark.django_db(transaction=True)
def test_each_case_keeps_its_root_cause() -> None:
    old = migrated_to(BEFORE)
    cause = old.get_model("surveys", "ReasonCategory").objects.create(
        code="queue_x", name_en="Queue", name_zh="排队"
    )
    with_cause = case_rows(old, phone="+8613900000101", cause=cause)
    without = case_rows(old, phone="+8613900000102", cause=None)

    new = migrated_to(AFTER)
    cases = new.get_model("followups", "Case").objects
    assert list(cases.get(pk=with_cause).root_causes.values_list("code", flat=True)) == ["queue_x"]
    assert cases.get(pk=without).root_causes.count() == 0
    migrated_to(MigrationExecutor(connection).loader.graph.leaf_nodes())  # back to the latest
