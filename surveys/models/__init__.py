"""Surveys models, one module per noun; import them from here."""

from surveys.models.consent import ConsentChange, ConsentSource
from surveys.models.contacts import Contact, ContactKind, ContactPolicy
from surveys.models.customers import (
    Customer,
    CustomerLanguage,
    Interaction,
    InteractionKind,
    Language,
    Tier,
    Touchpoint,
    default_time_zone,
)
from surveys.models.gateways import (
    SURVEY_LINK_TEMPLATE,
    SURVEY_TEMPLATE,
    TEMPLATE_KINDS,
    GatewayPrice,
    GatewayTemplate,
)
from surveys.models.imports import ImportStatus, InteractionImport
from surveys.models.invitations import Invitation, InvitationStatus, Purpose, SuppressReason
from surveys.models.links import SurveyLink
from surveys.models.messages import (
    DeliveryReceipt,
    InboundMessage,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
)
from surveys.models.reasons import (
    OTHER,
    ReasonCategory,
    RecategorisationRun,
    ResponseReason,
    RunStatus,
)
from surveys.models.responses import Category, Response, Voice
from surveys.models.surveys import Delivery, Scale, Survey, SurveyText
from surveys.models.tiers import TierThresholds
from surveys.models.units import Unit, UnitCode, UnitKind

__all__ = [
    "OTHER",
    "SURVEY_LINK_TEMPLATE",
    "SURVEY_TEMPLATE",
    "TEMPLATE_KINDS",
    "Category",
    "ConsentChange",
    "ConsentSource",
    "Contact",
    "ContactKind",
    "ContactPolicy",
    "Customer",
    "CustomerLanguage",
    "Delivery",
    "DeliveryReceipt",
    "GatewayPrice",
    "GatewayTemplate",
    "ImportStatus",
    "InboundMessage",
    "Interaction",
    "InteractionImport",
    "InteractionKind",
    "Invitation",
    "InvitationStatus",
    "Language",
    "OutboundKind",
    "OutboundMessage",
    "OutboundStatus",
    "Purpose",
    "ReasonCategory",
    "RecategorisationRun",
    "Response",
    "ResponseReason",
    "RunStatus",
    "Scale",
    "SuppressReason",
    "Survey",
    "SurveyLink",
    "SurveyText",
    "Tier",
    "TierThresholds",
    "Touchpoint",
    "Unit",
    "UnitCode",
    "UnitKind",
    "Voice",
    "default_time_zone",
]
