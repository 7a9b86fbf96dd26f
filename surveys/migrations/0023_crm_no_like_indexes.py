"""The LIKE copies (`varchar_pattern_ops`) of the customer's phone and region and of the
interaction's CRM id, dropped: no query searches them by a prefix that an index could serve.

Django's PostgreSQL backend adds such a copy beside every unique or indexed text column, for
`startswith` lookups. Here those lookups are exclusions (retention's `exclude`, care's own
interactions), which no index serves, or the demo's own seeding. The equality indexes stay:
the unique phone and CRM id (the import's and the API's upserts) and the region (its
filters). Each row the import writes or updates reached these three indexes for nothing
(bench/crm_indexes.py measures what they cost).

No model state changes: Django does not record these indexes in its state. An AlterField
of these columns would add them again; this migration's forwards drops them by their
deterministic names whatever created them.
"""

from django.db import migrations

# (index, table, column), the names Django gave them (deterministic: table, column, hash).
DROPPED = (
    ("surveys_customer_phone_ae928a1f_like", "surveys_customer", "phone"),
    ("surveys_customer_region_6c38dcaf_like", "surveys_customer", "region"),
    ("surveys_interaction_external_id_19d37651_like", "surveys_interaction", "external_id"),
)


def forwards(apps, schema_editor):
    for name, _table, _column in DROPPED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":  # the copies exist only there
        return
    for name, table, column in DROPPED:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column} varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0022_invitation_fewer_indexes"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
