"""Admin screens, one module per area; importing registers them."""

from followups.admin import cases, teams

__all__ = ["cases", "teams"]
