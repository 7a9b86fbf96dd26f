"""The PostgreSQL path of the interaction import: COPY into a staging table, set-based inserts.

Rows arrive here validated by the API's serializer and with known CRM ids already taken out
(surveys/interactions_import.py), so what is left is storing. One COPY puts the chunk into a
temporary staging table; one UPDATE and one INSERT bring the customers up to date, one
INSERT ... ON CONFLICT DO NOTHING adds the interactions (a concurrent import of the same id
loses quietly and is counted as already there), and each new interaction's survey is then
planned by `invitations_plan`, the batch form of the rule every posted interaction goes
through (`invitation_plan` is that function for one). The chunk's new interactions are
announced together with surveys.signals.interactions_recorded (care's pool takes them
set-based, by the rule its post_save receiver applies to one).

The customer statements are the set-based form of `customer_upsert`: an empty cell keeps
the stored value, the tier is `tier_from_crm`'s (computed here in Python, per row), and of
several rows for one number the last value given wins, as recording the rows one by one
would leave it. tests/surveys/test_interactions_import.py runs one file through both paths
and compares what they stored.
"""

from typing import Any

from django.conf import settings
from django.db import connection

from surveys.dispatch import invitations_plan
from surveys.models import Customer, Interaction, UnitCode
from surveys.phones import phone_parse
from surveys.signals import interactions_recorded
from surveys.tiers import tier_from_crm

STAGING = "interaction_import_staging"
COLUMNS = (
    "row_number", "external_id", "phone", "is_mobile", "name", "language", "tier", "region",
    "arpu", "touchpoint", "kind", "channel", "business_type", "staff_id", "staff_name",
    "unit_code", "occurred_at",
)  # fmt: skip
STAGING_DDL = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} (
    row_number integer, external_id text, phone text, is_mobile boolean, name text,
    language text, tier text, region text, arpu numeric, touchpoint text, kind text,
    channel text, business_type text, staff_id text, staff_name text, unit_code text,
    occurred_at timestamptz
)"""
# Per number, of each field the value of the last row that gave one (NULL: none did).
LAST = "(array_agg({0} ORDER BY row_number DESC) FILTER (WHERE {0} IS NOT NULL))[1] AS {0}"
# Names in these statements are constants and model table names; values are bound.
CUSTOMERS_GIVEN = f"""
SELECT phone, bool_and(is_mobile) AS is_mobile,
       {", ".join(LAST.format(name) for name in ("name", "language", "tier", "region", "arpu"))}
FROM {STAGING} GROUP BY phone"""  # noqa: S608 (constant names)
CUSTOMERS_UPDATE = """
UPDATE {customer} AS c SET
    name = COALESCE(s.name, c.name), language = COALESCE(s.language, c.language),
    tier = COALESCE(s.tier, c.tier), region = COALESCE(s.region, c.region),
    arpu = COALESCE(s.arpu, c.arpu), is_mobile = s.is_mobile, updated_at = now()
FROM ({given}) AS s WHERE c.phone = s.phone"""
CUSTOMERS_INSERT = """
INSERT INTO {customer} (phone, name, language, tier, region, arpu, time_zone, is_mobile,
                        in_callback, created_at, updated_at)
SELECT s.phone, COALESCE(s.name, ''), COALESCE(s.language, %(language)s),
       COALESCE(s.tier, %(tier)s), COALESCE(s.region, ''), s.arpu, %(time_zone)s, s.is_mobile,
       false, now(), now()
FROM ({given}) AS s
ON CONFLICT (phone) DO NOTHING"""
INTERACTIONS_INSERT = """
INSERT INTO {interaction} (external_id, customer_id, touchpoint, kind, channel,
                           business_type, staff_id, staff_name, unit_code, unit_id,
                           occurred_at, created_at)
SELECT s.external_id, c.id, s.touchpoint, s.kind, s.channel, s.business_type, s.staff_id,
       s.staff_name, s.unit_code, u.unit_id, s.occurred_at, now()
FROM {staging} AS s
JOIN {customer} AS c ON c.phone = s.phone
LEFT JOIN {unitcode} AS u ON u.code = s.unit_code AND s.unit_code <> ''
ORDER BY s.row_number
ON CONFLICT (external_id) DO NOTHING
RETURNING id"""


def staging_row(number: int, data: dict[str, Any]) -> tuple[Any, ...]:
    """A validated row as the staging table's columns, with the customer's derived values."""
    customer = data["customer"]
    parsed = phone_parse(customer["phone"], region=settings.NPS_DEFAULT_REGION)
    arpu = customer.get("arpu")
    tier = tier_from_crm(tier=customer.get("tier"), arpu=arpu)
    given = {name: customer.get(name) or None for name in ("name", "language", "region")}
    return (
        number, data["external_id"], parsed.e164, parsed.is_mobile, given["name"],
        given["language"], tier, given["region"], arpu, data["touchpoint"], data["kind"],
        data.get("channel", ""), data.get("business_type", ""), data.get("staff_id", ""),
        data.get("staff_name", ""), data.get("unit_code", ""), data["occurred_at"],
    )  # fmt: skip


def staging_fill(valid: list[tuple[int, dict[str, Any]]]) -> None:
    """Empty the session's staging table and COPY the chunk into it."""
    # Built before COPY starts: the tier rule reads its thresholds from the database, and
    # a connection in COPY answers nothing else until it ends.
    rows = [staging_row(number, data) for number, data in valid]
    with connection.cursor() as cursor:
        cursor.execute(STAGING_DDL)
        cursor.execute(f"TRUNCATE {STAGING}")
        with cursor.copy(f"COPY {STAGING} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def chunk_record_set(valid: list[tuple[int, dict[str, Any]]], result: Any) -> None:
    """Store new rows set-based and plan their surveys; counts go into `result`.

    Runs inside the caller's transaction (one per chunk), so a chunk is stored whole or not.
    """
    if not valid:
        return
    staging_fill(valid)
    tables = {
        "customer": Customer._meta.db_table,
        "interaction": Interaction._meta.db_table,
        "unitcode": UnitCode._meta.db_table,
        "staging": STAGING,
        "given": CUSTOMERS_GIVEN,
    }
    new_customer = {
        "language": Customer._meta.get_field("language").get_default(),
        "tier": Customer._meta.get_field("tier").get_default(),
        "time_zone": settings.NPS_DEFAULT_TIME_ZONE,
    }
    with connection.cursor() as cursor:
        cursor.execute(CUSTOMERS_UPDATE.format(**tables))
        cursor.execute(CUSTOMERS_INSERT.format(**tables), new_customer)
        cursor.execute(INTERACTIONS_INSERT.format(**tables))
        ids = sorted(row[0] for row in cursor.fetchall())
    result.added += len(ids)
    result.skipped += len(valid) - len(ids)  # ids a concurrent import stored first
    interactions = list(
        Interaction.objects.select_related("customer").filter(pk__in=ids).order_by("pk")
    )
    interactions_recorded.send(sender=Interaction, interactions=interactions)
    invitations_plan(interactions=interactions)
