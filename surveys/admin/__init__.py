"""Admin screens, one module per area; importing registers them."""

from surveys.admin import contacts, customers, imports, reasons, surveys, tiers, traffic, units

__all__ = ["contacts", "customers", "imports", "reasons", "surveys", "tiers", "traffic", "units"]
