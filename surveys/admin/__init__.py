"""Admin screens, one module per area; importing registers them."""

from surveys.admin import core, reasons, surveys

__all__ = ["core", "reasons", "surveys"]
