"""The seam to the preference store: surveys does not import care.

The CRM sends a customer's preference values with an interaction ({feature code: value});
the taxonomy and the values live in `care` (care/preferences.py). As with the callback
promise (surveys/texts.py, settings.NPS_CALLBACK_HOURS), settings name the two functions:
NPS_PREFERENCE_CODES_UNKNOWN (which codes the taxonomy lacks, for the API's 400) and
NPS_PREFERENCES_RECORD (store the values, once per customer and feature).
"""

from collections.abc import Iterable

from django.conf import settings
from django.utils.module_loading import import_string

from surveys.models import Customer


def preference_codes_unknown(codes: Iterable[str]) -> list[str]:
    """The codes the preference taxonomy has no active feature for, sorted."""
    unknown: list[str] = import_string(settings.NPS_PREFERENCE_CODES_UNKNOWN)(codes=codes)
    return unknown


def customer_preferences_record(*, customer: Customer, values: dict[str, float]) -> None:
    """Store what the CRM sent: one value per customer and feature, the latest wins."""
    import_string(settings.NPS_PREFERENCES_RECORD)(customer=customer, values=values)
