"""What a table's indexes cost its writes: the schema's indexes against the same plus the
ones a migration dropped, side by side in one run (bench/invitation_indexes.py,
bench/crm_indexes.py describe theirs).

For each Spec, two copies of the table's columns (`CREATE TABLE ... (LIKE table)`, no
foreign keys on either): `after` with the indexes the migrated table has now (read from
the catalog, so the benchmark follows the schema), `before` with those and the spec's
dropped ones. Each starts with `--base` rows (indexes of some depth). Then, in `--rounds`
rounds, the copies' order swapped every round, on each copy in turn: `--rows` new rows
inserted in one statement, then each of the spec's updates in batches of `--batch` rows by
id. Each phase's time and WAL bytes; medians over the rounds, and before / after.

The database name must contain "bench" (it is created and migrated if missing); the
copies are dropped at the end.
"""

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COPIES = ("before", "after")


@dataclass(frozen=True)
class Spec:
    table: str
    insert: str  # "{table}", "%(first)s" and "%(last)s": rows first..last, RETURNING id
    dropped: tuple[str, ...]  # "CREATE INDEX ON {table} (...)" of each index dropped
    updates: dict[str, str] = field(default_factory=dict)  # phase: UPDATE ... = ANY(%(ids)s)

    @property
    def phases(self) -> tuple[str, ...]:
        return ("insert", *self.updates)


def _django(database: str) -> None:
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{database}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def copies_make(cursor, spec: Spec, base: int) -> dict[str, int]:
    """The spec's two copies with `base` rows each; their index counts."""
    cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [spec.table])
    current = [  # "CREATE [UNIQUE] INDEX ON {table} USING ...", the name left to the server
        "CREATE {}INDEX ON {}".format(
            "UNIQUE " if definition.startswith("CREATE UNIQUE ") else "",
            definition.split(" ON ", 1)[1].replace(f"public.{spec.table} ", "{table} ", 1),
        )
        for (definition,) in cursor.fetchall()
    ]
    counts = {}
    for copy in COPIES:
        table = f"bench_{spec.table}_{copy}"
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"CREATE TABLE {table} (LIKE {spec.table} INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
        definitions = current + (list(spec.dropped) if copy == "before" else [])
        for definition in definitions:
            cursor.execute(definition.format(table=table))
        counts[copy] = len(definitions)
        cursor.execute(spec.insert.format(table=table), {"first": 1, "last": base})
        cursor.execute(f"VACUUM ANALYZE {table}")
    return counts


def phase_run(cursor, spec: Spec, table: str, phase: str, ids: list[int], batch: int,
              first: int) -> tuple[float, int, list[int]]:  # fmt: skip
    """(seconds, WAL bytes, ids) of one phase on `table`."""
    cursor.execute("SELECT pg_current_wal_insert_lsn()")
    (lsn,) = cursor.fetchone()
    started = time.perf_counter()
    if phase == "insert":
        last = first + len(ids) - 1
        cursor.execute(spec.insert.format(table=table), {"first": first, "last": last})
        ids = [row[0] for row in cursor.fetchall()]
    else:
        for at in range(0, len(ids), batch):
            cursor.execute(spec.updates[phase].format(table=table), {"ids": ids[at : at + batch]})
    seconds = time.perf_counter() - started
    cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", [lsn])
    (wal,) = cursor.fetchone()
    return seconds, int(wal), ids


def main(specs: tuple[Spec, ...], *, database: str, description: str) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--base", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    _django(database)
    from django.conf import settings
    from django.db import connection

    from bench.database import database_ready

    database_ready(settings.DATABASES["default"])
    connection.ensure_connection()
    connection.connection.autocommit = True
    with connection.cursor() as cursor:
        for spec in specs:
            spec_run(cursor, spec, args)
    return 0


def spec_run(cursor, spec: Spec, args: argparse.Namespace) -> None:
    times: dict[tuple[str, str], list[float]] = {}
    wal: dict[tuple[str, str], list[int]] = {}
    counts = copies_make(cursor, spec, args.base)
    print(
        f"\n{spec.table}: indexes before {counts['before']}, after {counts['after']}; "
        f"{args.base:,} rows to start, {args.rows:,} a round, batches of {args.batch}",
        flush=True,
    )
    first = args.base + 1
    for number in range(args.rounds):
        for copy in COPIES if number % 2 == 0 else COPIES[::-1]:
            table, ids = f"bench_{spec.table}_{copy}", [0] * args.rows
            for phase in spec.phases:
                seconds, written, ids = phase_run(
                    cursor, spec, table, phase, ids, args.batch, first
                )
                times.setdefault((copy, phase), []).append(seconds)
                wal.setdefault((copy, phase), []).append(written)
        first += args.rows
    for copy in COPIES:
        cursor.execute(f"DROP TABLE bench_{spec.table}_{copy}")
    print("\n| phase | before: ms, WAL MB | after: ms, WAL MB | time before / after |")
    print("|---|---:|---:|---:|")
    for phase in spec.phases:
        cells, medians = [], {}
        for copy in COPIES:
            medians[copy] = statistics.median(times[(copy, phase)])
            megabytes = statistics.median(wal[(copy, phase)]) / 1e6
            cells.append(f"{medians[copy] * 1000:,.0f}, {megabytes:,.1f}")
        ratio = medians["before"] / medians["after"]
        print(f"| {phase} ({args.rows:,} rows) | {cells[0]} | {cells[1]} | {ratio:.2f}x |")
