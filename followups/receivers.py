"""The followups side of the surveys seam: the closed loop follows the response's category."""

from typing import Any

from followups.cases import case_follow_response
from followups.verification import case_verification_record
from surveys.models import Purpose, Response


def on_response_classified(sender: type[Response], response: Response, **kwargs: Any) -> None:
    if response.invitation.purpose == Purpose.VERIFICATION:
        case_verification_record(response=response)
    else:
        case_follow_response(response=response)
