"""Care in the admin, one module per noun."""

from care.admin import (
    campaigns,  # noqa: F401  (registers its models)
    preferences,  # noqa: F401  (registers its models)
)
