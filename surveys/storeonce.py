"""Insert a row once: one INSERT ... ON CONFLICT DO NOTHING RETURNING, no exception path.

Webhooks store every gateway message this way: a retry of the same message id costs one
statement and reports "already there", concurrent copies cannot both insert, and no
savepoint or IntegrityError round trip is needed (PostgreSQL and SQLite >= 3.35).
"""

from typing import Any

from django.db import connection, models


def insert_once(
    model: type[models.Model], *, conflict: tuple[str, ...], **values: Any
) -> int | None:
    """The new row's id, or None when a row with the same `conflict` columns exists."""
    meta = model._meta
    stored = {f.name: f for f in meta.concrete_fields}
    fields = [stored[name] for name in values]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    target = ", ".join(connection.ops.quote_name(stored[n].column) for n in conflict)
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) "  # noqa: S608 (names from model meta)
        f"VALUES ({placeholders}) ON CONFLICT ({target}) DO NOTHING "
        f"RETURNING {connection.ops.quote_name(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row else None
