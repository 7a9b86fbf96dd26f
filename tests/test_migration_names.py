"""Migrations renamed for what they do still count as applied where the old name was."""

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

RENAMED = {
    ("followups", "0003_operations"): ("followups", "0003_case_events_contacts_routing_shifts"),
    ("surveys", "0004_operations"): ("surveys", "0004_invitation_purpose_care_messages"),
}


def pending_migrations() -> list[tuple[str, str]]:
    """Every migration of the graph the database has not applied (as `migrate` sees it)."""
    loader = MigrationLoader(connection)
    return sorted(key for key in loader.graph.nodes if key not in loader.applied_migrations)


@pytest.mark.django_db
def test_a_database_migrated_under_the_old_names_has_nothing_to_apply() -> None:
    # A deployment that applied the migrations before the rename has only the old names.
    recorded = MigrationRecorder.Migration.objects
    for (app, old), (_app, new) in RENAMED.items():
        recorded.filter(app=app, name=new).delete()
        recorded.get_or_create(app=app, name=old)
    assert pending_migrations() == []


@pytest.mark.django_db
def test_without_the_old_record_the_renamed_migration_is_pending() -> None:
    # The check above could pass vacuously if the loader ignored the records: remove the
    # record of one renamed migration and it must be planned again.
    recorded = MigrationRecorder.Migration.objects
    for (app, old), (_app, new) in RENAMED.items():
        recorded.filter(app=app, name__in=[old, new]).delete()
    assert set(RENAMED.values()) <= set(pending_migrations())


def test_no_migration_is_named_operations() -> None:
    names = {name for _app, name in MigrationLoader(None).disk_migrations}
    assert not [name for name in names if name.endswith("_operations")]
