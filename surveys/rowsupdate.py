"""Many rows of one table, each given its own values, in one statement.

`rows_update` writes `UPDATE ... FROM` a set of rows joined on the primary key: each row's
values are sent once, where bulk_update builds (and the database evaluates) a CASE over
every row per column. The reply and receipt chunks (objects_update), the sending kit's
records (surveys.sending) and a batch of case assignments (followups.assignment) write
through it. `rows_insert` adds rows whose keys the caller does not need back (a batch's
contacts, surveys.pressure).

On PostgreSQL the rows are `unnest` of one array per column, each cast to its column's
type: the statement's text is the same whatever the number of rows, so psycopg parses it
once (a `VALUES` list of 500 rows was a new text of thousands of placeholders, split on
every call), and no model instance is built for a row. SQLite (3.33 and later) gets
`(VALUES ...)`, its values as they come; an insert there goes through bulk_create.
"""

import sqlite3
from collections.abc import Sequence
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


def _prepared(field: "models.Field[Any, Any]", values: list[Any]) -> list[Any]:
    """The column's values as the database takes them (Field.get_db_prep_save), each
    distinct value prepared once: the rows of a batch mostly repeat a column's value (one
    send time, one gateway, one text per survey and language)."""
    done: dict[tuple[type, Any], Any] = {}
    prepared = []
    for value in values:
        try:
            key = (type(value), value)
            found = done[key]
        except KeyError:
            found = done[key] = field.get_db_prep_save(value, connection)
        except TypeError:  # unhashable (a JSON document): prepared as it comes
            found = field.get_db_prep_save(value, connection)
        prepared.append(found)
    return prepared


def _arrays(
    columns: "list[models.Field[Any, Any]]", rows: list[list[Any]]
) -> tuple[str, list[Any]]:
    """PostgreSQL's set of `rows` (each a value per column, as its attribute holds it):
    `unnest` of one array per column, cast to the column's type, as v(column1, ...); and
    its parameters, one list per column."""
    arrays = ", ".join(f"CAST(%s AS {field.db_type(connection)}[])" for field in columns)
    names = ", ".join(f"column{n}" for n in range(1, len(columns) + 1))
    params = [_prepared(field, [row[n] for row in rows]) for n, field in enumerate(columns)]
    return f"unnest({arrays}) AS v({names})", params


def rows_insert(model: type[models.Model], rows: list[dict[str, Any]]) -> int:
    """Insert `rows` in one statement, each a value per field name (the same names for
    every row; a foreign key: the related row's key), a field not named taking its default
    as Model() would give it and the key the database's; the number of rows inserted."""
    if not rows:
        return 0
    meta = model._meta
    named = _columns(model, list(rows[0]))[1:]
    if connection.vendor != "postgresql":
        made = [model(**{f.attname: row[f.name] for f in named}) for row in rows]
        return len(model._default_manager.bulk_create(made))
    given = {field.name for field in named}
    columns = _columns(model, [f.name for f in meta.concrete_fields if f is not meta.pk])[1:]
    for field in columns:  # what bulk_create would fill per row through pre_save
        if field.name not in given and (
            getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        ):
            raise ValueError(f"rows_insert: name {field.name} in the rows (auto_now)")
    # A field not named takes its default per row, as Model() would (a callable one, a
    # secret or a new list, is called for each row).
    values = [
        [row[f.name] if f.name in given else f.get_default() for f in columns] for row in rows
    ]
    source, params = _arrays(columns, values)
    quote = connection.ops.quote_name
    listed = ", ".join(quote(field.column) for field in columns)
    # Names from the model's meta, every value a parameter.
    sql = f"INSERT INTO {quote(meta.db_table)} ({listed}) SELECT * FROM {source}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def rows_update(
    model: type[models.Model],
    values: dict[Any, dict[str, Any]],
    *,
    moved: tuple[str, Any, Sequence[Any]] | None = None,
) -> int:
    """Give each row (by primary key) its own values, the same fields for every row, in one
    statement; the number of rows updated. A field's value is what its attribute holds
    (a foreign key: the related row's key). `moved` (field, to, from): the same statement
    also sets that field of every row to `to` where it holds one of `from`, and leaves it
    where not (a status moving forward: surveys.sendstatus.statuses_advance_with)."""
    if not values:
        return 0
    columns = _columns(model, list(next(iter(values.values()))))
    pk, fields = columns[0], columns[1:]
    if connection.vendor == "sqlite" and sqlite3.sqlite_version_info < UPDATE_FROM_SQLITE:
        manager = model._default_manager
        updated = sum(
            manager.filter(pk=key).update(**{f.attname: row[f.name] for f in fields})
            for key, row in values.items()
        )
        if moved is not None:
            name, to, sources = moved
            manager.filter(pk__in=list(values), **{f"{name}__in": sources}).update(**{name: to})
        return updated
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    assignments = ", ".join(
        f"{quote(field.column)} = v.column{n}" for n, field in enumerate(fields, start=2)
    )
    moved_params: list[Any] = []
    if moved is not None:
        name, to, sources = moved
        moving = quote(_columns(model, [name])[1].column)
        listed = ", ".join(["%s"] * len(sources))
        assignments += (
            f", {moving} = CASE WHEN {table}.{moving} IN ({listed}) THEN %s"
            f" ELSE {table}.{moving} END"
        )
        moved_params = [*sources, to]
    where = f"{table}.{quote(pk.column)} = v.column1"
    rows = [[key, *(row[field.name] for field in fields)] for key, row in values.items()]
    if connection.vendor == "postgresql":
        source, params = _arrays(columns, rows)
    else:
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
        params = [
            field.get_db_prep_save(value, connection)
            for row in rows
            for field, value in zip(columns, row, strict=True)
        ]
        source = f"(VALUES {', '.join([row_sql] * len(rows))}) AS v"
    # Names from the model's meta, every value a parameter.
    sql = f"UPDATE {table} SET {assignments} FROM {source} WHERE {where}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*moved_params, *params])
        return int(cursor.rowcount)


def objects_update(model: type[models.Model], rows: list[Any], names: list[str]) -> int:
    """bulk_update's effect in one statement: the fields `names` of each of `rows` as their
    attributes hold them."""
    fields = _columns(model, names)[1:]
    return rows_update(
        model, {row.pk: {f.name: getattr(row, f.attname) for f in fields} for row in rows}
    )
