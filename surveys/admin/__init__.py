"""Admin screens, one module per area; importing registers them."""

from surveys.admin import core

__all__ = ["core"]
