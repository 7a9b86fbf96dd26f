"""The customer and interaction tables carry no LIKE copies of their keys (migration
surveys.0023): every row the import writes reached them for nothing."""

import importlib

import pytest
from django.db import connection

from surveys.models import Customer, Interaction

pytestmark = pytest.mark.django_db(transaction=True)
no_like = importlib.import_module("surveys.migrations.0023_crm_no_like_indexes")
TABLES = (Customer._meta.db_table, Interaction._meta.db_table)


def index_definitions() -> dict[str, list[str]]:
    """Each table's index definitions as PostgreSQL prints them; SQLite's columns."""
    found: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
                found[table] = [definition for (definition,) in cursor.fetchall()]
            else:
                constraints = connection.introspection.get_constraints(cursor, table)
                found[table] = [",".join(c["columns"]) for c in constraints.values() if c["index"]]
    return found


def test_the_keys_keep_their_equality_indexes_and_lose_their_like_copies() -> None:
    with connection.cursor() as cursor:
        customer = connection.introspection.get_constraints(cursor, "surveys_customer")
        interaction = connection.introspection.get_constraints(cursor, "surveys_interaction")
    # The upserts' keys and the region's filters keep an equality index.
    assert any(c["unique"] and c["columns"] == ["phone"] for c in customer.values())
    assert any(c["index"] and c["columns"] == ["region"] for c in customer.values())
    assert any(c["unique"] and c["columns"] == ["external_id"] for c in interaction.values())
    for table, definitions in index_definitions().items():
        assert not [d for d in definitions if "pattern_ops" in d], table


@pytest.mark.skipif(connection.vendor != "postgresql", reason="LIKE copies exist only there")
def test_the_migration_reverses_and_applies_again() -> None:
    with connection.schema_editor() as editor:
        no_like.backwards(None, editor)
    restored = [d for ds in index_definitions().values() for d in ds if "pattern_ops" in d]
    assert len(restored) == 3
    with connection.schema_editor() as editor:
        no_like.forwards(None, editor)
    assert not [d for ds in index_definitions().values() for d in ds if "pattern_ops" in d]
