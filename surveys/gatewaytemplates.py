"""Approved templates: the one a template gateway sends for a composed SMS, and the ones a
survey needs that the sending gateway lacks.

Providers in China send only templates approved in their console (surveys.models
GatewayTemplate: one per gateway, kind of SMS and language). A composed SMS (surveys/
sending.py) becomes a TemplateCall: the template of its kind in its language, whose
parameters are filled from the values the SMS carries (the link, the hours).

The language is the composed one, the customer's first (Tibetan for a customer who reads
Tibetan and Chinese), and there is no fallback to another language: a Tibetan reader
must not get a Chinese template because that is the one approved. A missing template is
found before any send instead: `templates_missing` lists what the active surveys need
(the system check and the admin show it), and the dispatcher and the conversation sends
wait while the template a send needs is missing (`sends_waiting`, `invitation_waits`,
`templates_lacking`). Should one go missing between that check and the send, the send
fails as a transient GatewayError (TemplateMissing): retried with backoff, never lost at
once to a configuration gap staff can close.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from surveys.gateways.base import Composed, Gateway, GatewayError, TemplateCall, get_gateway
from surveys.models import (
    SURVEY_LINK_TEMPLATE,
    SURVEY_TEMPLATE,
    Customer,
    CustomerLanguage,
    Delivery,
    GatewayTemplate,
    OutboundKind,
    Survey,
)
from surveys.models.customers import CUSTOMER_LANGUAGES

K = OutboundKind
# The values a composed SMS may carry, and which kinds carry each (surveys.dispatch puts
# the link in a link survey's SMS, surveys.conversation the hours in a callback promise).
TEMPLATE_VALUES: dict[str, frozenset[str]] = {
    "link": frozenset({SURVEY_LINK_TEMPLATE}),
    "hours": frozenset({K.CALLBACK_PROMISE}),
}
# What any survey's conversation may send, whatever its settings: the clarification of a
# reply not understood, and the answers to STOP, START and HELP.
ALWAYS_SENT = (K.CLARIFICATION, K.OPT_OUT_CONFIRMATION, K.OPT_IN_CONFIRMATION, K.HELP)
# The care campaigns (care.models.Campaign.post_survey) that name a survey, by the ORM's
# reverse name: surveys imports nothing of care.
CAMPAIGN_SURVEYS = "care_campaigns"


class TemplateMissing(GatewayError):
    """No approved template for a send. Not permanent: staff add or approve it in the
    admin, and the retry goes (while it is missing the dispatcher does not even claim)."""

    def __init__(self, gateway: str, kind: str, language: str) -> None:
        self.gateway, self.kind, self.language = gateway, kind, language
        super().__init__(f"{gateway}: no approved template for {kind} ({language})")


class TemplateUnfit(GatewayError):
    """The template names a value this SMS does not carry: its parameters need fixing in
    the admin (not permanent, so the send goes once they are)."""


@dataclass(frozen=True, order=True)
class MissingTemplate:
    """An approved template the sending gateway lacks, and the surveys that need it."""

    gateway: str
    kind: str
    language: str
    surveys: tuple[str, ...] = ()

    def __str__(self) -> str:
        needed_by = ", ".join(self.surveys)
        return f"{self.gateway}: no approved template for {self.kind} ({self.language})" + (
            f", needed by {needed_by}" if needed_by else ""
        )


def template_call(gateway: Gateway, composed: Composed) -> TemplateCall | None:
    """None for a gateway that sends free text; else the approved template of the SMS's
    kind in its language, its parameters filled from the SMS's values."""
    if not gateway.uses_templates:
        return None
    template = GatewayTemplate.objects.filter(
        gateway=gateway.slug, kind=composed.kind, language=composed.language, approved=True
    ).first()
    if template is None:
        raise TemplateMissing(gateway.slug, composed.kind, composed.language)
    absent = [name for name in template.parameters if name not in composed.values]
    if absent:
        raise TemplateUnfit(
            f"{gateway.slug}: template {template.code} for {composed.kind} "
            f"({composed.language}) names {', '.join(absent)}, which this SMS does not carry "
            f"(it carries: {', '.join(composed.values) or 'nothing'})"
        )
    return TemplateCall(
        template.code, {name: composed.values[name] for name in template.parameters}
    )


def parameter_problems(kind: str, parameters: Iterable[str]) -> list[str]:
    """Why a template of this kind cannot carry these parameters (the admin's validation):
    each must be one of our values, and one this kind of SMS carries."""
    problems: list[str] = []
    for name in parameters:
        if name not in TEMPLATE_VALUES:
            problems.append(
                _("%(name)s is not one of our values (%(values)s).")
                % {"name": name, "values": ", ".join(TEMPLATE_VALUES)}
            )
        elif kind not in TEMPLATE_VALUES[name]:
            problems.append(_("This kind of SMS does not carry %(name)s.") % {"name": name})
    return problems


def survey_template_kinds(survey: Survey, *, campaign: bool = False) -> list[str]:
    """The kinds of SMS a survey may send: its question (or link SMS, per its delivery),
    what its settings answer a score with, the conversation's confirmations and help, and
    a care campaign's offer when a campaign surveys with it."""
    kinds = [SURVEY_LINK_TEMPLATE if survey.delivery == Delivery.LINK else SURVEY_TEMPLATE]
    wanted = [
        (K.FOLLOWUP_QUESTION, bool(survey.followup_categories)),
        (K.CARE, survey.passive_care),
        (K.THANKS, survey.promoter_thanks),
        (K.CALLBACK_PROMISE, survey.callback_promise),
        (K.CAMPAIGN, campaign),
    ]
    return kinds + [kind for kind, sent in wanted if sent] + list(ALWAYS_SENT)


def first_language(customer_language: str) -> str:
    """The language a customer's SMS is composed in: the first they read."""
    return CUSTOMER_LANGUAGES.get(customer_language, (customer_language,))[0]


def languages_held() -> set[str]:
    """The languages customers' SMS are composed in (their first), as customers hold them."""
    held = Customer.objects.order_by().values_list("language", flat=True).distinct()
    return {first_language(language) for language in held}


def templates_approved(gateway: str) -> set[tuple[str, str]]:
    """(kind, language) of the gateway's approved templates."""
    rows = GatewayTemplate.objects.filter(gateway=gateway, approved=True)
    return set(rows.values_list("kind", "language"))


def uses_templates(gateway: str) -> bool:
    """Whether this gateway is enabled and sends only approved templates."""
    adapter = get_gateway(gateway)
    return adapter is not None and adapter.uses_templates


def _campaign_survey_ids() -> set[int]:
    surveys = Survey.objects.filter(**{f"{CAMPAIGN_SURVEYS}__isnull": False})
    return set(surveys.values_list("pk", flat=True))


def survey_needs(
    survey: Survey, languages: Iterable[str], *, campaign: bool
) -> set[tuple[str, str]]:
    """(kind, language) a survey needs for customers composed in these languages: each of
    its kinds in each of them, and in its default language (the texts' fallback)."""
    wanted = {survey.default_language, *languages}
    return {(k, lang) for k in survey_template_kinds(survey, campaign=campaign) for lang in wanted}


def templates_missing(
    *,
    gateway: str | None = None,
    surveys: Iterable[Survey] | None = None,
    languages: Iterable[str] | None = None,
) -> list[MissingTemplate]:
    """What the active surveys need that the gateway (the sending one unless named) has no
    approved template for; nothing for a gateway that sends free text. The languages are
    the surveys' default ones and those customers hold, unless given."""
    slug = gateway or settings.NPS_SEND_GATEWAY
    if not uses_templates(slug):
        return []
    surveys = list(Survey.objects.filter(is_active=True) if surveys is None else surveys)
    held = languages_held() if languages is None else set(languages)
    approved, campaigns = templates_approved(slug), _campaign_survey_ids()
    needed_by: dict[tuple[str, str], set[str]] = {}
    for survey in surveys:
        for need in survey_needs(survey, held, campaign=survey.pk in campaigns) - approved:
            needed_by.setdefault(need, set()).add(survey.name)
    return _missing_list(slug, needed_by)


@dataclass(frozen=True)
class SendsWaiting:
    """What waits for templates on one gateway: for each (survey id, customer language) —
    a CustomerLanguage value — that may not be sent, the (kind, language) it lacks."""

    gateway: str
    lacking: dict[tuple[int, str], set[tuple[str, str]]]
    survey_names: dict[int, str]

    def languages_by_survey(self) -> dict[int, list[str]]:
        """The customer languages whose invitations wait, by survey id."""
        waiting: dict[int, list[str]] = {}
        for survey_id, customer_language in self.lacking:
            waiting.setdefault(survey_id, []).append(customer_language)
        return waiting

    def missing(self, pairs: Iterable[tuple[int, str]]) -> list[MissingTemplate]:
        """What these (survey id, customer language) wait for, each template once."""
        needed_by: dict[tuple[str, str], set[str]] = {}
        for pair in pairs:
            for need in self.lacking.get(pair, set()):
                needed_by.setdefault(need, set()).add(self.survey_names[pair[0]])
        return _missing_list(self.gateway, needed_by)


def _missing_list(
    gateway: str, needed_by: dict[tuple[str, str], set[str]]
) -> list[MissingTemplate]:
    return sorted(
        MissingTemplate(gateway, kind, language, tuple(sorted(names)))
        for (kind, language), names in needed_by.items()
    )


def sends_waiting(gateway: Gateway) -> SendsWaiting:
    """Which invitations may not be claimed yet through this gateway: those of a survey
    whose customer's language, or the survey's own default language, lacks an approved
    template of a kind the survey may send. Reads the templates and the surveys (a few
    rows), never the customers."""
    lacking: dict[tuple[int, str], set[tuple[str, str]]] = {}
    names: dict[int, str] = {}
    if not gateway.uses_templates:
        return SendsWaiting(gateway.slug, lacking, names)
    approved, campaigns = templates_approved(gateway.slug), _campaign_survey_ids()
    for survey in Survey.objects.all():
        names[survey.pk] = survey.name
        for customer_language in CustomerLanguage.values:
            language = first_language(customer_language)
            needs = survey_needs(survey, [language], campaign=survey.pk in campaigns)
            if needs - approved:
                lacking[survey.pk, customer_language] = needs - approved
    return SendsWaiting(gateway.slug, lacking, names)


def invitation_waits(
    gateway: Gateway, *, survey: Survey, customer: Customer
) -> list[MissingTemplate]:
    """What one invitation waits for: the templates its survey needs for its customer."""
    if not gateway.uses_templates:
        return []
    campaign = survey.pk in _campaign_survey_ids()
    needs = survey_needs(survey, [first_language(customer.language)], campaign=campaign)
    lacking = needs - templates_approved(gateway.slug)
    return _missing_list(gateway.slug, {need: {survey.name} for need in lacking})


def templates_lacking(gateway: Gateway, needs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (kind, language) the gateway has no approved template for (none for a
    gateway that sends free text): what conversation messages wait for."""
    needs = set(needs)
    if not gateway.uses_templates or not needs:
        return set()
    return needs - templates_approved(gateway.slug)
