"""Admin screens, one module per area; importing registers them."""

from followups.admin import cases, digests, teams

__all__ = ["cases", "digests", "teams"]
