"""Admin screens, one module per area; importing registers them."""

from surveys.admin import customers, reasons, surveys, tiers, traffic

__all__ = ["customers", "reasons", "surveys", "tiers", "traffic"]
