"""The benchmarks' own PostgreSQL database: created if missing, then migrated."""

import sys
from typing import Any


def database_ready(db: dict[str, Any]) -> None:
    """Create db (Django's DATABASES entry) if it does not exist, then migrate it.

    Its name must contain "bench": the benchmarks truncate the tables they load.
    """
    import psycopg
    from django.core.management import call_command
    from psycopg import sql

    if db["ENGINE"] != "django.db.backends.postgresql" or "bench" not in db["NAME"]:
        sys.exit(f"DATABASE_URL must be PostgreSQL with 'bench' in the name, not {db['NAME']!r}")
    params = {"host": db["HOST"] or None, "port": db["PORT"] or None, "user": db["USER"] or None}
    params = {**params, "password": db["PASSWORD"] or None, "dbname": "postgres"}
    with psycopg.connect(autocommit=True, **params) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
        if found.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
    call_command("migrate", verbosity=0, interactive=False)
