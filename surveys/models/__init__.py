"""Surveys models, one module per noun; import them from here."""

from surveys.models.customers import (
    Customer,
    Interaction,
    Language,
    Tier,
    Touchpoint,
    default_time_zone,
)
from surveys.models.invitations import Invitation, InvitationStatus, SuppressReason
from surveys.models.messages import DeliveryReceipt, InboundMessage
from surveys.models.responses import Category, Response
from surveys.models.surveys import Survey, SurveyText

__all__ = [
    "Category",
    "Customer",
    "DeliveryReceipt",
    "InboundMessage",
    "Interaction",
    "Invitation",
    "InvitationStatus",
    "Language",
    "Response",
    "SuppressReason",
    "Survey",
    "SurveyText",
    "Tier",
    "Touchpoint",
    "default_time_zone",
]
