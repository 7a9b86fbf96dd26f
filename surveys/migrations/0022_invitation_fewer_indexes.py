"""Four indexes on surveys_invitation that no query needs, dropped.

- customer_id alone: (customer_id, status) serves every lookup by customer;
- purpose and its LIKE twin: three values, nearly every row a survey, and every query by
  purpose reaches invitations through another condition first;
- provider_message_id's LIKE twin: a receipt finds its send by equality.

Every status change rewrites every index of the row (status is indexed, so no update is
HOT): eleven indexes became seven. The equality index on provider_message_id is kept,
renamed to the name its Meta entry gives (no rebuild on PostgreSQL).
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "surveys_invitation"
# The names Django gave them (deterministic: table, column and a hash).
DROPPED = (
    "surveys_invitation_customer_id_070370bb",
    "surveys_invitation_purpose_288ca2b8",
    "surveys_invitation_purpose_288ca2b8_like",
    "surveys_invitation_provider_message_id_c9a70056_like",
)
MESSAGE_ID_OLD = "surveys_invitation_provider_message_id_c9a70056"
MESSAGE_ID_NEW = "invitation_provider_msg_id"


def forwards(apps, schema_editor):
    run = schema_editor.execute
    for name in DROPPED:
        run(f"DROP INDEX IF EXISTS {name}")
    if schema_editor.connection.vendor == "postgresql":
        run(f"ALTER INDEX IF EXISTS {MESSAGE_ID_OLD} RENAME TO {MESSAGE_ID_NEW}")
    else:
        run(f"DROP INDEX IF EXISTS {MESSAGE_ID_OLD}")
    run(f"CREATE INDEX IF NOT EXISTS {MESSAGE_ID_NEW} ON {TABLE} (provider_message_id)")


def backwards(apps, schema_editor):
    run = schema_editor.execute
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:
        run(f"ALTER INDEX IF EXISTS {MESSAGE_ID_NEW} RENAME TO {MESSAGE_ID_OLD}")
    else:
        run(f"DROP INDEX IF EXISTS {MESSAGE_ID_NEW}")
    run(f"CREATE INDEX IF NOT EXISTS {MESSAGE_ID_OLD} ON {TABLE} (provider_message_id)")
    run(f"CREATE INDEX IF NOT EXISTS {DROPPED[0]} ON {TABLE} (customer_id)")
    run(f"CREATE INDEX IF NOT EXISTS {DROPPED[1]} ON {TABLE} (purpose)")
    if postgresql:
        run(f"CREATE INDEX IF NOT EXISTS {DROPPED[2]} ON {TABLE} (purpose varchar_pattern_ops)")
        run(
            f"CREATE INDEX IF NOT EXISTS {DROPPED[3]} "
            f"ON {TABLE} (provider_message_id varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0021_interaction_imports"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="invitation",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="invitations",
                        to="surveys.customer",
                        verbose_name="customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="invitation",
                    name="provider_message_id",
                    field=models.CharField(
                        blank=True, max_length=64, verbose_name="provider message id"
                    ),
                ),
                migrations.AlterField(
                    model_name="invitation",
                    name="purpose",
                    field=models.CharField(
                        choices=[
                            ("survey", "Survey after an interaction"),
                            ("verification", "Verification after a resolved case"),
                            ("campaign", "Care campaign survey (before or after)"),
                        ],
                        default="survey",
                        max_length=12,
                        verbose_name="purpose",
                    ),
                ),
                migrations.AddIndex(
                    model_name="invitation",
                    index=models.Index(
                        fields=["provider_message_id"], name="invitation_provider_msg_id"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
