"""The API's JSON parser: DRF's, with the nesting limit the webhooks apply too."""

import codecs
from typing import Any

from rest_framework.exceptions import ParseError

# DRF has get_encoding; its stubs (3.16, the last for Django 5.2) do not declare it.
from rest_framework.parsers import JSONParser, get_encoding  # type: ignore[attr-defined]

from surveys.jsonbodies import TooDeep, json_body_load


class DepthLimitedJSONParser(JSONParser):
    """A body nested past jsonbodies.MAX_DEPTH is a 400 naming the body, not a RecursionError."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            return json_body_load(text)  # strict: NaN and Infinity refused, as STRICT_JSON
        except TooDeep as exc:
            raise ParseError(str(exc)) from exc
        except ValueError as exc:  # not JSON, or not in the declared charset
            raise ParseError(f"JSON parse error - {exc}") from exc
