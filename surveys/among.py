"""`field__among=values`: a column's value among a list, the list one parameter.

Django's `__in` writes a placeholder per value. psycopg keeps the split of a statement's
text only up to 50 parameters, so a batch's `IN (...)` of 64 or 500 ids was a new text
split again on every call (337 of 540 statements of 5,000 sends), and each value went
through the lookup's own preparation. On PostgreSQL `among` writes `= ANY` of one array,
cast to the column's type, whose text is the same for any number of values; a list of
integers (ids) is given as the array's text, written here, which psycopg would otherwise
dump one element at a time. SQLite gets `IN (...)`, as `__in` writes it.

Registered on every field by surveys.apps (a foreign key takes the related rows' keys);
an empty list matches nothing without a statement, as `__in`.
"""

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Lookup
from django.db.models.sql.compiler import SQLCompiler


class Among(Lookup):
    lookup_name = "among"
    prepare_rhs = False  # the values are prepared one by one below

    def get_prep_lookup(self) -> list[Any]:
        field = self.lhs.output_field
        return list(dict.fromkeys(field.get_prep_value(value) for value in self.rhs))

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(value, connection, prepared=True) for value in self.rhs]
        if not values:
            raise EmptyResultSet
        db_type = field.db_type(connection)
        if connection.vendor != "postgresql" or db_type is None:
            return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]
        array: Any = values
        if all(type(value) is int for value in values):
            array = "{" + ",".join(map(str, values)) + "}"  # digits and commas only
        return f"{lhs} = ANY(CAST(%s AS {db_type}[]))", [*lhs_params, array]
