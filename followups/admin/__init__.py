"""Admin screens, one module per area; importing registers them."""

from followups.admin import cases, digests, problems, standards, teams

__all__ = ["cases", "digests", "problems", "standards", "teams"]
