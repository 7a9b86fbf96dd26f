"""Care in the admin, one module per noun."""

from care.admin import preferences  # noqa: F401  (registers its models)
