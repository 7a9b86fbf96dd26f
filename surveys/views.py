"""The survey page a link-delivery survey's SMS opens (/s/<token>): thin, see surveys/links.py.

Works without JavaScript (a plain form POST with Django's CSRF token), may be framed by
the origins in NPS_SURVEY_LINK_FRAME_ORIGINS (Content-Security-Policy frame-ancestors;
X-Frame-Options is dropped for this view only), is never cached, and sends its address
(with the token) as a Referer to no other site. Not "no-referrer": the browser would
then send "Origin: null" with the form and the CSRF check would refuse it.
"""

from typing import Any

from axes.helpers import get_client_ip_address
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods

from surveys.links import (
    Outcome,
    frame_ancestors,
    link_answer,
    link_find,
    link_reasons,
    link_request_allowed,
    link_state,
)
from surveys.linkwords import LANGUAGE_NAMES, PAGE_LANGUAGES, page_language, reason_parts, words
from surveys.models import Scale, SurveyLink

STATUS = {Outcome.RECORDED: 200, Outcome.ANSWERED: 410, Outcome.CLOSED: 410}


@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def survey_link(request: HttpRequest, token: str) -> HttpResponse:
    requested = request.GET.get("lang", "")
    if not link_request_allowed(get_client_ip_address(request) or "unknown"):
        return _page(request, "too_many", page_language(requested, ()), status=429)
    link = link_find(token)
    if link is None:
        return _page(request, "not_found", page_language(requested, ()), status=404)
    language = page_language(requested, link.invitation.customer.languages)
    if (refused := link_state(link)) is not None:
        return _page(request, refused, language, status=STATUS[refused])
    if request.method == "GET":
        return _form(request, link, language)
    score, chosen, text = _read(request, link)
    if score is None:
        return _form(request, link, language, error=True, chosen=chosen, text=text, status=400)
    outcome = link_answer(link=link, score=score, reasons=chosen, text=text, language=language)
    return _page(request, outcome, language, status=STATUS[outcome])


def _read(request: HttpRequest, link: SurveyLink) -> tuple[int | None, list[Any], str]:
    lowest = link.invitation.asked_survey.lowest_score
    raw = request.POST.get("score", "")
    score = int(raw) if raw.isdigit() and lowest <= int(raw) <= 10 else None
    codes = set(request.POST.getlist("reason"))
    chosen = [category for category in link_reasons() if category.code in codes]
    return score, chosen, request.POST.get("comment", "")[:1000]


def _form(
    request: HttpRequest,
    link: SurveyLink,
    language: str,
    *,
    error: bool = False,
    chosen: list[Any] | None = None,
    text: str = "",
    status: int = 200,
) -> HttpResponse:
    survey = link.invitation.asked_survey
    chosen_codes = {c.code for c in chosen or []}
    context = {
        "state": "form",
        "scores": range(survey.lowest_score, 11),
        "reasons": [
            {"code": c.code, "parts": reason_parts(c, language), "checked": c.code in chosen_codes}
            for c in link_reasons()
        ],
        "error": error,
        "comment": text,
    }
    return _render(request, language, context, status, scale=survey.scale)


def _page(request: HttpRequest, state: str, language: str, *, status: int) -> HttpResponse:
    return _render(request, language, {"state": state}, status)


def _render(
    request: HttpRequest,
    language: str,
    context: dict[str, Any],
    status: int,
    scale: str = Scale.NPS,
) -> HttpResponse:
    context |= {
        "lang": language,
        "words": words(language, scale),
        "languages": [(code, LANGUAGE_NAMES[code]) for code in PAGE_LANGUAGES],
    }
    response = render(request, "surveys/link.html", context, status=status)
    response["Content-Security-Policy"] = frame_ancestors()
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response
