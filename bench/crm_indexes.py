"""What the LIKE copies (`varchar_pattern_ops`) of the customer's phone and region and of the
interaction's CRM id cost the import's writes: the schema's indexes against the same plus
the three that migration surveys.0023 dropped, side by side in one run
(bench/index_cost.py).

The phases, in the shapes the import writes (surveys/interactions_import_pg.py):
customers inserted in one statement (numbers in no particular order, one of seven
regions), then updated in batches as a later file updates them (a new region and tier,
so the update is not HOT and reaches every index); interactions inserted in one statement
(CRM ids in no particular order, as a CRM's are).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_crm_indexes \\
    .venv/bin/python bench/crm_indexes.py [--base 200000] [--rows 20000] [--rounds 5]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.index_cost import Spec, main

REGIONS = "ARRAY['拉萨', '日喀则', '昌都', '林芝', '山南', '那曲', '阿里']"
CUSTOMERS = Spec(
    table="surveys_customer",
    # 7919 is prime to 10^10: n -> n * 7919 mod 10^10 spreads the numbers over the key.
    insert=f"""
INSERT INTO {{table}} (phone, name, language, tier, region, time_zone, is_mobile,
    in_callback, created_at, updated_at)
SELECT '+861' || lpad(((n::bigint * 7919) %% 10000000000)::text, 10, '0'), '', 'zh-hans', 'C',
    ({REGIONS})[n %% 7 + 1], 'Asia/Shanghai', true, false, now(), now()
FROM generate_series(%(first)s, %(last)s) AS n
RETURNING id""",  # noqa: S608 (constants)
    dropped=(
        "CREATE INDEX ON {table} (phone varchar_pattern_ops)",
        "CREATE INDEX ON {table} (region varchar_pattern_ops)",
    ),
    updates={
        "updated": (
            f"UPDATE {{table}} SET region = ({REGIONS})[id %% 7 + 1], tier = 'B', "  # noqa: S608
            "updated_at = now() WHERE id = ANY(%(ids)s)"
        ),
    },
)
INTERACTIONS = Spec(
    table="surveys_interaction",
    insert="""
INSERT INTO {table} (external_id, customer_id, touchpoint, kind, channel, business_type,
    staff_id, staff_name, unit_code, occurred_at, created_at)
SELECT 'CRM-' || md5(n::text), n / 3 + 1,
    (ARRAY['store', 'hotline', 'online', 'account_manager'])[n %% 4 + 1], 'service', '', '',
    'E' || (n %% 2000), '', '', now() - make_interval(secs => n %% 86400), now()
FROM generate_series(%(first)s, %(last)s) AS n
RETURNING id""",
    dropped=("CREATE INDEX ON {table} (external_id varchar_pattern_ops)",),
)

if __name__ == "__main__":
    raise SystemExit(
        main((CUSTOMERS, INTERACTIONS), database="bench_crm_indexes", description=__doc__)
    )
