"""surveys_invitation carries only the indexes its queries need (migration 0022): every
status change rewrites each of them."""

import importlib

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)
fewer = importlib.import_module("surveys.migrations.0022_invitation_fewer_indexes")


def indexed_columns() -> list[tuple[str, ...]]:
    """The column lists of the table's indexes that are not constraints' own."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, "surveys_invitation")
    return sorted(
        tuple(c["columns"]) for c in found.values() if c["index"] and not c["primary_key"]
    )


def test_the_lookups_keep_their_indexes_and_the_redundant_ones_are_gone() -> None:
    columns = indexed_columns()
    # The receipt's match, the due scan and the per-customer lookups.
    for needed in [("provider_message_id",), ("status", "send_at"), ("customer_id", "status")]:
        assert needed in columns
    # customer_id alone is the prefix of (customer_id, status); purpose is never searched.
    assert ("customer_id",) not in columns
    assert ("purpose",) not in columns
    if connection.vendor == "postgresql":  # no LIKE copies (varchar_pattern_ops)
        assert columns.count(("provider_message_id",)) == 1


def test_the_migration_reverses_and_applies_again() -> None:
    with connection.schema_editor() as editor:
        fewer.backwards(None, editor)
    restored = indexed_columns()
    assert ("customer_id",) in restored
    assert ("purpose",) in restored
    with connection.schema_editor() as editor:
        fewer.forwards(None, editor)
    assert ("customer_id",) not in indexed_columns()
    assert ("purpose",) not in indexed_columns()
    assert ("provider_message_id",) in indexed_columns()
