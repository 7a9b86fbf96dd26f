"""The benchmarks' own PostgreSQL database: created if missing, then migrated; the CPU
its server processes use."""

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# The server's processes that write for every database: WAL, checkpoints, dirty pages.
SHARED_WRITERS = ("walwriter", "checkpointer", "background writer")


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


def postgres_cpu(
    database: str, *, writers: bool = False, pids: Iterable[int] | None = None
) -> dict[int, float]:
    """CPU seconds (user + system) of each PostgreSQL backend connected to `database` now,
    by process (its title names the database: other databases' backends on the server,
    and the server's reaped children, are not counted). `writers`: the shared writers
    (SHARED_WRITERS) too. `pids`: the processes to look among (default: every one now)."""
    ticks, found = os.sysconf("SC_CLK_TCK"), {}
    candidates = pids if pids is not None else (int(p) for p in os.listdir("/proc") if p.isdigit())
    for pid in candidates:
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            if not title.startswith(b"postgres:"):
                continue
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        named = title.decode(errors="replace")
        if f" {database} " in named or (writers and any(w in named for w in SHARED_WRITERS)):
            fields = stat[stat.rindex(")") + 2 :].split()
            found[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return found
