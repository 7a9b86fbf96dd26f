"""The PostgreSQL path of the interaction import: COPY into a staging table, set-based inserts.

Rows of the common shape are validated here in SQL (CLASSIFY, below); the others arrive
validated by the API's serializer and with known CRM ids already taken out
(surveys/interactions_import.py). A plain CSV file's lines go to the raw table by COPY
as they are (surveys/interactions_import_copy.py), every other file's rows by COPY of
Python's rows (chunk_take_set). One UPDATE and one INSERT bring the customers up to date,
one INSERT ... ON CONFLICT DO NOTHING adds the interactions (a concurrent import of the
same id loses quietly and is counted as already there) and notes their ids in RECORDED.

Surveys are planned after the whole file is recorded (recorded_plan): the noted
interactions without a survey, in id order, a batch per transaction, are announced
together with surveys.signals.interactions_recorded (care's pool takes them set-based, by
the rule its post_save receiver applies to one) and planned by `invitations_plan`, the
batch form of the rule every posted interaction goes through (`invitation_plan` is that
function for one). Rows found recorded with the same values are noted too, so a run that
stopped between recording and planning leaves their planning to the next run of the file.

The customer statements are the set-based form of `customer_upsert`: an empty cell keeps
the stored value, the tier is `tier_from_crm`'s (computed here in Python, per row), and of
several rows for one number the last value given wins, as recording the rows one by one
would leave it. tests/surveys/test_interactions_import.py runs one file through both paths
and compares what they stored.
"""

from collections.abc import Iterator
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Exists, Model, OuterRef
from django.utils import timezone

from surveys.dispatch import invitations_plan
from surveys.models import (
    Customer,
    CustomerLanguage,
    Interaction,
    InteractionKind,
    Invitation,
    Purpose,
    Touchpoint,
    UnitCode,
)
from surveys.occurrence import EARLIEST, FUTURE_TOLERANCE
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
# Per number, of each field the value of the last row that gave one (NULL: none did): a
# number on one row of the chunk (the most) as it is, the others aggregated.
LAST = "(array_agg({0} ORDER BY row_number DESC) FILTER (WHERE {0} IS NOT NULL))[1] AS {0}"
GIVEN = "interaction_import_given"
GIVEN_DDL = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {GIVEN} (
    phone text, is_mobile boolean, name text, language text, tier text, region text,
    arpu numeric
)"""
# Names in these statements are constants and model table names; values are bound.
CUSTOMERS_GIVEN = f"""
INSERT INTO {GIVEN}
WITH s AS (SELECT *, count(*) OVER (PARTITION BY phone) AS rows FROM {STAGING})
SELECT phone, is_mobile, name, language, tier, region, arpu FROM s WHERE rows = 1
UNION ALL
SELECT phone, bool_and(is_mobile) AS is_mobile,
       {", ".join(LAST.format(name) for name in ("name", "language", "tier", "region", "arpu"))}
FROM s WHERE rows > 1 GROUP BY phone"""  # noqa: S608 (constant names)
CUSTOMERS_UPDATE = """
UPDATE {customer} AS c SET
    name = COALESCE(s.name, c.name), language = COALESCE(s.language, c.language),
    tier = COALESCE(s.tier, c.tier), region = COALESCE(s.region, c.region),
    arpu = COALESCE(s.arpu, c.arpu), is_mobile = s.is_mobile, updated_at = now()
FROM {given} AS s WHERE c.phone = s.phone"""
CUSTOMERS_INSERT = """
INSERT INTO {customer} (phone, name, language, tier, region, arpu, time_zone, is_mobile,
                        in_callback, created_at, updated_at)
SELECT s.phone, COALESCE(s.name, ''), COALESCE(s.language, %(language)s),
       COALESCE(s.tier, %(tier)s), COALESCE(s.region, ''), s.arpu, %(time_zone)s, s.is_mobile,
       false, now(), now()
FROM {given} AS s
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
# The interactions a run has stored or found recorded: the ones whose surveys it plans.
RECORDED = "interaction_import_recorded"
RECORDED_DDL = f"CREATE TEMPORARY TABLE IF NOT EXISTS {RECORDED} (id bigint PRIMARY KEY)"
INTERACTIONS_NOTE = f"""
WITH added AS ({{insert}}), noted AS (
    INSERT INTO {RECORDED} SELECT id FROM added ON CONFLICT DO NOTHING
)
SELECT count(*) FROM added"""  # noqa: S608 (constant names)


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
    """COPY the serializer's rows into the staging table, after those chunk_take_set put."""
    # Built before COPY starts: the tier rule reads its thresholds from the database, and
    # a connection in COPY answers nothing else until it ends.
    rows = [staging_row(number, data) for number, data in valid]
    with connection.cursor() as cursor:
        cursor.execute(STAGING_DDL)
        with cursor.copy(f"COPY {STAGING} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def chunk_record_set(
    valid: list[tuple[int, dict[str, Any]]], result: Any, *, staged: int = 0
) -> None:
    """Store new rows (the serializer's `valid` and the `staged` ones chunk_take_set put)
    set-based; counts go into `result`, the new interactions' ids into RECORDED for
    `recorded_plan`.

    Runs inside the caller's transaction (one per chunk), so a chunk is stored whole or not.
    """
    if result.known:  # recorded before, perhaps by a run that stopped before planning
        with connection.cursor() as cursor:
            cursor.execute(RECORDED_DDL)
            cursor.execute(
                f"INSERT INTO {RECORDED} SELECT unnest(%s::bigint[]) ON CONFLICT DO NOTHING",
                [result.known],
            )
    if not valid and not staged:
        return
    if valid:
        staging_fill(valid)
    tables = {
        "customer": Customer._meta.db_table,
        "interaction": Interaction._meta.db_table,
        "unitcode": UnitCode._meta.db_table,
        "staging": STAGING,
        "given": GIVEN,
    }
    new_customer = {
        "language": Customer._meta.get_field("language").get_default(),
        "tier": Customer._meta.get_field("tier").get_default(),
        "time_zone": settings.NPS_DEFAULT_TIME_ZONE,
    }
    with connection.cursor() as cursor:
        for ddl in (RECORDED_DDL, GIVEN_DDL):
            cursor.execute(ddl)
        cursor.execute(f"TRUNCATE {GIVEN}")
        cursor.execute(CUSTOMERS_GIVEN)
        cursor.execute(CUSTOMERS_UPDATE.format(**tables))
        cursor.execute(CUSTOMERS_INSERT.format(**tables), new_customer)
        cursor.execute(INTERACTIONS_NOTE.format(insert=INTERACTIONS_INSERT.format(**tables)))
        added = cursor.fetchone()[0]
    result.added += added
    result.skipped += len(valid) + staged - added  # ids a concurrent import stored first


def recorded_start() -> None:
    """Forget the interactions an earlier run in this session noted (a run starts empty)."""
    with connection.cursor() as cursor:
        cursor.execute(RECORDED_DDL)
        cursor.execute(f"TRUNCATE {RECORDED}")


def tables_analyze(*models: type[Model]) -> None:
    """Fresh statistics for tables an import has just grown: planning reads them (care's
    pool by customer and time, the interactions without a survey) sooner than autovacuum
    analyses them, and PostgreSQL would plan for the tables as they were (a sort of the
    whole invitation table for every batch, a scan of every interaction in the window)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(model._meta.db_table for model in models))


def recorded_plan(*, size: int) -> Iterator[int]:
    """Announce and plan, `size` at a time in id order (the file's order), the interactions
    RECORDED notes that have no survey yet; yields how many each batch planned.

    Each batch is one transaction: the interactions are locked (an interaction another run
    is planning is skipped, that run plans it), announced with interactions_recorded and
    planned by `invitations_plan`, the rule every posted interaction goes through.
    """
    last = 0
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id FROM {RECORDED} WHERE id > %s ORDER BY id LIMIT %s",  # noqa: S608
                    [last, size],
                )
                ids = [pk for (pk,) in cursor.fetchall()]
            if not ids:
                return
            last = ids[-1]
            surveyed = Invitation.objects.filter(interaction=OuterRef("pk"), purpose=Purpose.SURVEY)
            interactions = list(
                Interaction.objects.select_related("customer")
                .filter(pk__in=ids)
                .exclude(Exists(surveyed))
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")
            )
            if interactions:
                interactions_recorded.send(sender=Interaction, interactions=interactions)
                invitations_plan(interactions=interactions)
        yield len(interactions)


# Rows of the common shape, validated in SQL ----------------------------------------------
#
# Before the API's serializer sees a chunk, its rows go through COPY into RAW as the file
# gave them, and one statement takes those it can decide cheaply, all of them rows the
# serializer accepts: a Chinese mobile number (11 digits, "+86" or not; mobile by the
# patterns libphonenumber itself holds, so e164 and is_mobile are phone_parse's), a local
# "YYYY-MM-DD HH:MM:SS" in NPS_IMPORT_TIME_ZONE away from any change of its offset, within
# the model's range (surveys/occurrence.py), known choices, texts within their lengths and
# without surrounding white space, no tier or ARPU (tier_from_crm), a CRM id once in the
# chunk. A new one goes into STAGING as staging_row would put it; a recorded one with the
# same values (interaction_differences' fields) is counted as already there. Every other
# row, valid or not, goes to the serializer: SQL never refuses, so every error message is
# the serializer's. tests/surveys/test_interactions_import.py holds the agreement table.

RAW = "interaction_import_raw"
RAW_COLUMNS = (
    "external_id", "phone", "name", "language", "tier", "region", "arpu", "touchpoint",
    "kind", "channel", "business_type", "staff_id", "staff_name", "unit_code", "occurred_at",
)  # fmt: skip
RAW_DDL = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {RAW} (row_number integer, "
    + ", ".join(f"{name} text" for name in RAW_COLUMNS)
    + ")"
)
# What str.strip() takes off a cell: every character btrim() is given to take off.
WHITE = "".join(c for c in map(chr, range(0x3000 + 1)) if c.isspace())


def _mobile_patterns() -> tuple[str, str, list[str]]:
    """libphonenumber's own patterns for the default region: every number, mobiles, and the
    types it tells before mobiles (premium, toll-free, shared cost...), anchored."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(settings.NPS_DEFAULT_REGION)
    if meta is None:
        raise ImproperlyConfigured(f"No phone numbers for region {settings.NPS_DEFAULT_REGION}")
    before = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager",
              "uan", "voicemail")  # fmt: skip

    def full(desc: Any) -> str | None:
        pattern = getattr(desc, "national_number_pattern", None)
        return None if pattern is None else f"^(?:{pattern})$"

    general, mobile = full(meta.general_desc), full(meta.mobile)
    if general is None or mobile is None:
        raise ImproperlyConfigured(f"No mobiles for region {settings.NPS_DEFAULT_REGION}")
    others = [full(getattr(meta, name)) for name in before]
    return general, mobile, [pattern for pattern in others if pattern is not None]


def _text_ok(name: str, length: int) -> str:
    return (
        f"(t.{name} IS NULL OR (char_length(t.{name}) <= {length} "
        f"AND btrim(t.{name}, %(white)s) = t.{name}))"
    )


CLASSIFY = """
WITH t AS (
    SELECT r.*,
        CASE WHEN r.phone ~ '^(\\+86)?1[0-9]{{10}}$' THEN right(r.phone, 11) END AS digits,
        CASE WHEN r.occurred_at !~ %(when_shape)s THEN NULL
             WHEN substr(r.occurred_at, 9, 2)::int <= extract(day from
                  date_trunc('month', (substr(r.occurred_at, 1, 7) || '-01')::date)
                  + interval '1 month - 1 day')
             THEN replace(r.occurred_at, 'T', ' ')::timestamp END AS local_at,
        count(*) OVER (PARTITION BY btrim(r.external_id, %(white)s)) AS copies
    FROM {raw} AS r
), v AS (
    SELECT t.*, t.local_at AT TIME ZONE %(zone)s AS at FROM t
    WHERE t.digits ~ %(general)s AND t.digits ~ %(mobile)s AND NOT t.digits ~ ANY(%(others)s)
      AND t.external_id IS NOT NULL AND t.local_at IS NOT NULL AND t.copies = 1
      AND t.tier IS NULL AND t.arpu IS NULL
      AND t.touchpoint = ANY(%(touchpoints)s)
      AND (t.kind IS NULL OR t.kind = ANY(%(kinds)s))
      AND (t.language IS NULL OR t.language = ANY(%(languages)s))
      AND {texts}
), c AS (
    SELECT v.*, i.id AS known, i.touchpoint = v.touchpoint
        AND i.kind = COALESCE(v.kind, %(kind)s) AND i.occurred_at = v.at
        AND (v.channel IS NULL OR i.channel = v.channel)
        AND (v.business_type IS NULL OR i.business_type = v.business_type)
        AND (v.staff_id IS NULL OR i.staff_id = v.staff_id)
        AND (v.staff_name IS NULL OR i.staff_name = v.staff_name)
        AND (v.unit_code IS NULL OR i.unit_code = v.unit_code)
        AND cu.phone = '+86' || v.digits AS same
    FROM v
    LEFT JOIN {interaction} AS i ON i.external_id = v.external_id
    LEFT JOIN {customer} AS cu ON cu.id = i.customer_id
    WHERE v.at >= %(earliest)s AND v.at <= %(latest)s
      AND v.at AT TIME ZONE %(zone)s = v.local_at
      AND (v.at - interval '1 day') AT TIME ZONE %(zone)s = v.local_at - interval '1 day'
      AND (v.at + interval '1 day') AT TIME ZONE %(zone)s = v.local_at + interval '1 day'
), added AS (
    INSERT INTO {staging} ({columns})
    SELECT row_number, external_id, '+86' || digits, true, name, language, %(tier)s, region,
           NULL, touchpoint, COALESCE(kind, %(kind)s), COALESCE(channel, ''),
           COALESCE(business_type, ''), COALESCE(staff_id, ''), COALESCE(staff_name, ''),
           COALESCE(unit_code, ''), at
    FROM c WHERE known IS NULL
    RETURNING row_number
), noted AS (
    INSERT INTO {recorded} SELECT known FROM c WHERE known IS NOT NULL AND same
    ON CONFLICT DO NOTHING
)
SELECT row_number, false FROM added
UNION ALL SELECT row_number, true FROM c WHERE known IS NOT NULL AND same"""


def _raw_row(number: int, payload: dict[str, Any]) -> tuple[Any, ...] | None:
    """The payload as RAW's columns, or None when a cell is not text (it goes to Python)."""
    customer = payload.get("customer", {})
    if not isinstance(customer, dict):
        return None
    cells = {**{k: v for k, v in payload.items() if k != "customer"}, **customer}
    if not all(isinstance(v, str) and "\x00" not in v for v in cells.values()):
        return None
    return (number, *(cells.get(name) for name in RAW_COLUMNS))


def raw_classify() -> dict[int, bool]:
    """Run CLASSIFY over RAW (STAGING emptied first): {row number: known} of the rows taken."""
    general, mobile, others = _mobile_patterns()
    limits = {"external_id": 64, "name": 100, "region": 64, "channel": 32}
    limits |= {"business_type": 64, "staff_id": 64, "staff_name": 100, "unit_code": 64}
    sql = CLASSIFY.format(
        raw=RAW, staging=STAGING, columns=", ".join(COLUMNS), recorded=RECORDED,
        interaction=Interaction._meta.db_table, customer=Customer._meta.db_table,
        texts=" AND ".join(_text_ok(name, n) for name, n in limits.items()),
    )  # fmt: skip
    params = {
        "white": WHITE, "general": general, "mobile": mobile, "others": others,
        "when_shape": r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[ T]"
        r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$",
        "zone": settings.NPS_IMPORT_TIME_ZONE, "touchpoints": list(Touchpoint.values),
        "kinds": list(InteractionKind.values), "languages": list(CustomerLanguage.values),
        "kind": InteractionKind.SERVICE, "tier": tier_from_crm(tier=None, arpu=None),
        "earliest": EARLIEST, "latest": timezone.now() + FUTURE_TOLERANCE,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def raw_ready(cursor: Any) -> None:
    for ddl in (STAGING_DDL, RAW_DDL, RECORDED_DDL):
        cursor.execute(ddl)
    cursor.execute(f"TRUNCATE {STAGING}, {RAW}")


def chunk_take_set(
    rows: list[tuple[int, dict[str, Any]]],
) -> tuple[list[tuple[int, dict[str, Any]]], int, int]:
    """Put the chunk's common-shape rows into STAGING (emptied first) or count them as
    recorded; (the rows left for the serializer, how many taken new, how many known)."""
    raw = [(number, _raw_row(number, payload)) for number, payload in rows]
    with connection.cursor() as cursor:
        raw_ready(cursor)
        with cursor.copy(f"COPY {RAW} (row_number, {', '.join(RAW_COLUMNS)}) FROM STDIN") as copy:
            for _number, row in raw:
                if row is not None:
                    copy.write_row(row)
    taken = raw_classify()
    left = [(number, payload) for number, payload in rows if number not in taken]
    known = sum(taken.values())
    return left, len(taken) - known, known
