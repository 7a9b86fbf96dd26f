"""Many rows of one table, each given its own values, in one statement.

`rows_update` writes `UPDATE ... FROM (VALUES ...)` joined on the primary key: each row's
values are sent once, where bulk_update builds (and the database evaluates) a CASE over
every row per column. The reply and receipt chunks (objects_update), the sending kit's
records (surveys.sending) and a batch of case assignments (followups.assignment) write
through it. PostgreSQL types a VALUES list by its first row, so every placeholder there is
cast to its column's type (a column of NULLs would be text otherwise); SQLite (3.33 and
later) takes the values as they come.
"""

import sqlite3
from typing import Any

from django.db import connection, models

UPDATE_FROM_SQLITE = (3, 33, 0)  # the first SQLite with UPDATE ... FROM


def _columns(model: type[models.Model], names: list[str]) -> "list[models.Field[Any, Any]]":
    meta = model._meta
    columns: list[models.Field[Any, Any]] = []
    for field in [meta.pk, *(meta.get_field(name) for name in names)]:
        if not isinstance(field, models.Field) or not field.concrete:
            raise ValueError(f"{field} is not a column of {meta.db_table}")
        if field.db_type(connection) is None:
            raise ValueError(f"{field} is not a column of {meta.db_table}")
        columns.append(field)
    return columns


def rows_update(model: type[models.Model], values: dict[Any, dict[str, Any]]) -> int:
    """Give each row (by primary key) its own values, the same fields for every row, in one
    statement; the number of rows updated. A field's value is what its attribute holds
    (a foreign key: the related row's key)."""
    if not values:
        return 0
    columns = _columns(model, list(next(iter(values.values()))))
    pk, fields = columns[0], columns[1:]
    if connection.vendor == "sqlite" and sqlite3.sqlite_version_info < UPDATE_FROM_SQLITE:
        manager = model._default_manager
        return sum(
            manager.filter(pk=key).update(**{f.attname: row[f.name] for f in fields})
            for key, row in values.items()
        )
    quote = connection.ops.quote_name

    def placeholder(field: "models.Field[Any, Any]") -> str:
        if connection.vendor != "postgresql":
            return "%s"
        return f"CAST(%s AS {field.db_type(connection)})"

    row_sql = "(" + ", ".join(placeholder(field) for field in columns) + ")"
    params: list[Any] = []
    for key, row in values.items():
        params.append(pk.get_db_prep_save(key, connection))
        params += [field.get_db_prep_save(row[field.name], connection) for field in fields]
    table = quote(model._meta.db_table)
    assignments = ", ".join(
        f"{quote(field.column)} = v.column{n}" for n, field in enumerate(fields, start=2)
    )
    rows_sql = ", ".join([row_sql] * len(values))
    where = f"{table}.{quote(pk.column)} = v.column1"
    # Names from the model's meta, every value a parameter.
    sql = f"UPDATE {table} SET {assignments} FROM (VALUES {rows_sql}) AS v WHERE {where}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def objects_update(model: type[models.Model], rows: list[Any], names: list[str]) -> int:
    """bulk_update's effect in one statement: the fields `names` of each of `rows` as their
    attributes hold them."""
    fields = _columns(model, names)[1:]
    return rows_update(
        model, {row.pk: {f.name: getattr(row, f.attname) for f in fields} for row in rows}
    )
