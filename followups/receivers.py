"""The followups side of the surveys seam: the closed loop follows the response's category."""

from typing import Any

from followups.cases import case_follow_response, cases_open, cases_unit_attribute
from followups.verification import case_verification_record
from surveys.models import Purpose, Response, Unit


def on_response_classified(sender: type[Response], response: Response, **kwargs: Any) -> None:
    if response.invitation.purpose == Purpose.VERIFICATION:
        case_verification_record(response=response)
    else:
        case_follow_response(response=response)


def on_responses_recorded(sender: type[Response], responses: list[Response], **kwargs: Any) -> None:
    """Many first answers at once: the survey answers' cases opened together."""
    surveyed = [r for r in responses if r.invitation.purpose != Purpose.VERIFICATION]
    for response in responses:
        if response.invitation.purpose == Purpose.VERIFICATION:
            case_verification_record(response=response)
    cases_open(responses=surveyed)


def on_interactions_attributed(
    sender: type[Unit], unit_id: int, interaction_ids: list[int], **kwargs: Any
) -> None:
    cases_unit_attribute(interaction_ids=interaction_ids, unit_id=unit_id)
