"""Admin screens, one module per area; importing registers them."""

from surveys.admin import (
    contacts,
    customers,
    gateways,
    imports,
    reasons,
    surveys,
    tiers,
    traffic,
    units,
)

__all__ = [
    "contacts",
    "customers",
    "gateways",
    "imports",
    "reasons",
    "surveys",
    "tiers",
    "traffic",
    "units",
]
