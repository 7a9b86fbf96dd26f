"""The followups side of the surveys seam: the closed loop follows the response's category."""

from typing import Any

from followups.cases import case_follow_response
from surveys.models import Response


def on_response_classified(sender: type[Response], response: Response, **kwargs: Any) -> None:
    case_follow_response(response=response)
