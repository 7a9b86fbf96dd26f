"""JSON bodies from outside (the API and signed webhooks): nesting is limited before parsing.

Python's json decoder recurses once per level, so a body of a few thousand brackets ends
in RecursionError. Neither the CRM's interactions (three levels) nor any gateway's
payload comes close to MAX_DEPTH; a deeper body is refused before it is decoded.
NaN and Infinity are refused too: they are not JSON, and PostgreSQL's jsonb rejects them
when the raw payload is stored.
"""

import json
import re
from typing import Any

MAX_DEPTH = 32

# A JSON string with its escapes ("unrolled loop": no backtracking), and a bracket.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class TooDeep(ValueError):
    """The body nests arrays and objects deeper than MAX_DEPTH."""

    def __init__(self) -> None:
        super().__init__(f"body is nested deeper than {MAX_DEPTH} levels")


def json_depth_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """True when arrays and objects nest deeper than `limit` (strings do not count).

    Up to its first error a body reads as JSON does, so the decoder never goes deeper
    than the brackets counted here.
    """
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > limit:
            return True
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def json_body_load(text: str) -> Any:
    """json.loads for a body from outside; raises TooDeep (a ValueError) past MAX_DEPTH,
    and a ValueError for anything else that is not JSON."""
    if json_depth_exceeds(text):
        raise TooDeep
    return json.loads(text, parse_constant=_refuse_constant)
