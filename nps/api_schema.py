"""OpenAPI: every operation documents the errors the API really answers with."""

from typing import Any

_ERROR = {"type": "object", "additionalProperties": True}
_ERRORS = {
    "400": "Invalid input: field errors keyed by field (by item index for a list)",
    "401": "No or invalid token",
    "403": "Authenticated but not allowed",
    "404": "Not found",
    "415": "Unsupported media type: send application/json",
    "429": "Too many requests: slow down (Retry-After tells when)",
}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook."""
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code, description in _ERRORS.items():
                if code == "404" and "{" not in path and method != "get":  # a page past the end
                    continue
                if code == "415" and method not in ("post", "put", "patch"):
                    continue
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": _ERROR}},
                    },
                )
    return result
