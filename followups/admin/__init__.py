"""Admin screens, one module per area; importing registers them."""

from followups.admin import core

__all__ = ["core"]
