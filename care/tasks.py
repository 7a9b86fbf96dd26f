"""Care's periodic and on-demand work; each task is a few lines in the module of its service."""

from care.campaigns import (
    campaigns_contact_due,
    campaigns_finish_due,
    campaigns_post_survey_due,
    care_calls_assign_waiting,
)
from care.pool import age_out
from care.risk import score_customers, train_model

__all__ = [
    "age_out",
    "campaigns_contact_due",
    "campaigns_finish_due",
    "campaigns_post_survey_due",
    "care_calls_assign_waiting",
    "score_customers",
    "train_model",
]
