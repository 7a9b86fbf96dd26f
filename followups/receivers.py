"""The followups side of the surveys seam: a classified detractor opens a case."""

from typing import Any

from followups.cases import case_open
from surveys.models import Response


def on_response_classified(sender: type[Response], response: Response, **kwargs: Any) -> None:
    case_open(response=response)
