"""What the indexes of surveys_invitation cost its writes: the schema's indexes against the
same plus the four that migration 0022 dropped, side by side in one run (bench/index_cost.py).

The phases: `--rows` new invitations inserted in one statement (the import's and the
planner's shape), then the send's life in batches of `--batch` rows by id as the sending
kit writes it: claimed (status, claimed_at, attempts), sent (status, provider_message_id,
sent_at, gateway), delivered (status, delivered_at).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_invitation_indexes \\
    .venv/bin/python bench/invitation_indexes.py [--base 200000] [--rows 20000] [--rounds 5]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.index_cost import Spec, main

INVITATIONS = Spec(
    table="surveys_invitation",
    insert="""
INSERT INTO {table} (interaction_id, customer_id, survey_id, purpose, status,
    suppressed_reason, language, text, send_at, attempts, gateway, provider_message_id,
    failure_reason, created_at)
SELECT n, n / 2 + 1, 1, CASE WHEN n %% 50 = 0 THEN 'verification' ELSE 'survey' END,
    'scheduled', '', 'zh', '', now(), 0, '', '', '', now()
FROM generate_series(%(first)s, %(last)s) AS n
RETURNING id""",
    # The four indexes migration 0022 dropped.
    dropped=(
        "CREATE INDEX ON {table} (customer_id)",
        "CREATE INDEX ON {table} (purpose)",
        "CREATE INDEX ON {table} (purpose varchar_pattern_ops)",
        "CREATE INDEX ON {table} (provider_message_id varchar_pattern_ops)",
    ),
    updates={
        "claimed": "UPDATE {table} SET status = 'sending', claimed_at = now(), "
        "attempts = attempts + 1 WHERE id = ANY(%(ids)s)",
        "sent": "UPDATE {table} SET status = 'sent', provider_message_id = 'SM' || md5(id::text), "
        "sent_at = now(), gateway = 'twilio' WHERE id = ANY(%(ids)s)",
        "delivered": "UPDATE {table} SET status = 'delivered', delivered_at = now() "
        "WHERE id = ANY(%(ids)s)",
    },
)

if __name__ == "__main__":
    raise SystemExit(main((INVITATIONS,), database="bench_invitation_indexes", description=__doc__))
