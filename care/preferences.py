"""Customer preference values: stored once per customer and feature, the latest wins.

surveys reaches these through settings (NPS_PREFERENCE_CODES_UNKNOWN,
NPS_PREFERENCES_RECORD; surveys/preferences.py): it does not import care.
"""

import re
from collections.abc import Iterable

from care.models import CustomerPreference, PreferenceFeature, PreferenceSource
from surveys.models import Customer

# A feature code as the model stores it (a slug); anything else is unknown without a query
# (PostgreSQL refuses a NUL character in a parameter: that would be a 500, not a 400).
CODE = re.compile(r"[-a-zA-Z0-9_]{1,48}")


def preference_codes_unknown(*, codes: Iterable[str]) -> list[str]:
    """The codes that name no active feature, sorted."""
    wanted = set(codes)
    plausible = {code for code in wanted if CODE.fullmatch(code)}
    known = PreferenceFeature.objects.filter(code__in=plausible, active=True)
    return sorted(wanted - set(known.values_list("code", flat=True)))


def preferences_record(
    *, customer: Customer, values: dict[str, float], source: str = PreferenceSource.CRM
) -> list[CustomerPreference]:
    """Upsert one value per (customer, feature): the unique constraint makes it one row."""
    features = PreferenceFeature.objects.filter(code__in=values, active=True)
    rows = [
        CustomerPreference(customer=customer, feature=f, value=values[f.code], source=source)
        for f in features
    ]
    return CustomerPreference.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["customer", "feature"],
        update_fields=["value", "source", "updated_at"],
    )
