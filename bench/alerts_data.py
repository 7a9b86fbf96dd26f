"""Synthetic data for bench/alerts.py: bench/dashboard_data.py's responses, each
interaction served by one of the units of a tree (province -> 30 city branches -> 5
districts each -> 6 stores each: 900 stores), skewed so some stores are busy.

The units are written first (ORM: a thousand rows); the interactions' INSERT of
dashboard_data is extended with unit_id, so the load is otherwise the dashboard's.
"""

# SQL text here is built from this module's constants only; values are bound parameters.

from collections.abc import Callable

from bench import dashboard_data

CITIES, DISTRICTS, STORES = 30, 5, 6
Say = Callable[[str], None]


def units_ensure() -> tuple[int, int]:
    """The unit tree (created once); returns the first and last store ids."""
    from surveys.models import Unit, UnitKind

    root, _created = Unit.objects.get_or_create(
        parent=None, name="Bench province", defaults={"kind": UnitKind.PROVINCE}
    )
    if not Unit.objects.filter(parent__parent__parent=root).exists():
        cities = Unit.objects.bulk_create(
            Unit(name=f"City {region}", kind=UnitKind.CITY, parent=root)
            for region in dashboard_data.REGIONS[:CITIES]
        )
        districts = Unit.objects.bulk_create(
            Unit(name=f"District {c.pk}-{d}", kind=UnitKind.DISTRICT, parent=c)
            for c in cities
            for d in range(DISTRICTS)
        )
        Unit.objects.bulk_create(
            Unit(name=f"Store {d.pk}-{s}", kind=UnitKind.STORE, parent=d)
            for d in districts
            for s in range(STORES)
        )
    stores = Unit.objects.filter(parent__parent__parent=root).order_by("pk")
    return stores.first().pk, stores.last().pk  # type: ignore[union-attr]


def _with_units(statement: Callable[[int, int, int], str], first: int, last: int
                ) -> Callable[[int, int, int], str]:  # fmt: skip
    count = last - first + 1
    unit = f"{first} + floor({count} * power(random(), 1.4))::int AS unit_id"

    def interactions(lo: int, hi: int, customers: int) -> str:
        sql = statement(lo, hi, customers)
        for old, new in (
            ("staff_name, occurred_at, created_at)", "staff_name, occurred_at, created_at, "
             "unit_id, unit_code)"),
            ("occurred_at, occurred_at\n", "occurred_at, occurred_at, unit_id, ''\n"),
            ("SELECT g, 1 + floor(", f"SELECT g, {unit}, 1 + floor("),
        ):  # fmt: skip
            if old not in sql:
                raise RuntimeError(f"dashboard_data's interactions changed: {old!r} not found")
            sql = sql.replace(old, new, 1)
        return sql

    return interactions


# Columns added to the models since dashboard_data was written (NOT NULL, no database
# default): the loader's INSERTs name them too.
RESPONSE_COLUMNS = (
    ("message_id, created_at, updated_at)", "message_id, created_at, updated_at, voice)"),
    ("NULL, responded_at, responded_at\n", "NULL, responded_at, responded_at, ''\n"),
)
CASE_COLUMNS = (
    ("verification_score, recovered)", "verification_score, recovered, needs_language, "
     "appointment_zone, hold_count, hold_note, hold_reason, hold_total, team_fixed, typical, "
     "typical_note)"),
    ("verification_score >= 7 END\n", "verification_score >= 7 END, '', '', 0, '', '', "
     "interval '0', false, false, ''\n"),
)  # fmt: skip


def _extended(statement: Callable[..., str], changes: tuple[tuple[str, str], ...]
              ) -> Callable[..., str]:  # fmt: skip
    def extended(*args: int) -> str:
        sql = statement(*args)
        for old, new in changes:
            if old not in sql:
                raise RuntimeError(f"dashboard_data's SQL changed: {old!r} not found")
            sql = sql.replace(old, new, 1)
        return sql

    return extended


def data_load(responses: int, say: Say) -> dict[str, float]:
    """The dashboard's load with a unit per interaction."""
    first, last = units_ensure()
    say(f"  units: stores {first}..{last}")
    saved = (dashboard_data._interactions, dashboard_data._responses, dashboard_data._cases)
    dashboard_data._interactions = _with_units(saved[0], first, last)  # type: ignore[assignment]
    dashboard_data._responses = _extended(saved[1], RESPONSE_COLUMNS)
    dashboard_data._cases = _extended(saved[2], CASE_COLUMNS)
    try:
        return dashboard_data.data_load(responses, say)
    finally:
        dashboard_data._interactions, dashboard_data._responses, dashboard_data._cases = saved
