"""No English on a Chinese page: every admin page and the dashboard, for every role.

Each page a staff member can open is fetched twice, in English and in Chinese, and the
words of the Chinese page's visible text are compared with the English page's: a word on
both is an untranslated string (a missing msgid or msgstr, an English literal in code),
unless it is data (a value stored in the database: names, comments, ids) or one of the
few proper nouns and units we keep in both languages (NPS, SLA, CSV...).
"""

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from zoneinfo import available_timezones

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import translation

from care.models import Campaign
from followups.escalation import SUPERVISOR, escalation_message
from nps.reporting.rebuild import rollups_rebuild
from surveys.texts import DEFAULT_QUESTIONS, DEFAULTS, OPT_OUT_INSTRUCTION
from tests.test_permission_matrix import MATRIX_CAMPAIGN, PAGES, World, fill, world_make

pytestmark = pytest.mark.django_db

# Kept as they are in Chinese: names of things, abbreviations, units and formats.
PROPER = {
    "NPS",
    "SLA",
    "CSV",
    "ID",
    "SMS",
    "API",
    "CRM",
    "ARPU",  # the operators write it so in Chinese too (ARPU值)
    "AUC",  # the model's measure, written so in Chinese statistics too
    # A segment's filters are JSON whose keys are typed as they are, in either language.
    "kind",
    "tiers",
    "regions",
    "reasons",
    "touchpoints",
    "preferences",
    "URL",
    "PDF",
    "GSM",  # the SMS alphabet (GSM-7), named so in Chinese too
    # File formats and encodings, named so in Chinese too (CSV、Excel（.xlsx）、UTF-8、GBK).
    "Excel",
    "xlsx",
    "UTF",
    "GBK",
    # Django's own Chinese for a multiple choice: "按住 Control 键，或者 Mac 上的 Command 键…"
    "Control",
    "Command",
    "Mac",
    "IP",
    "E.164",
    "CJK",
    "HMAC",
    "SHA256",
    "Wald",
    "Token",
    "JSON",
    "GMT",
    "UTC",
    "Asia",
    "Shanghai",
    "AM",
    "PM",
    "a.m",
    "p.m",
    "min",
    "English",  # a language offered in its own name
    "ed",
    "ing",
    "es",  # the English endings reason keywords match
    "app",
    "web",
    "wechat",
    "ivr",  # channel codes, as the CRM sends them
}
# Pages of Django's and django-axes' own models (users, groups, tokens, login attempts),
# for superusers only: their words come from those packages' catalogs, not ours.
THIRD_PARTY = ("/admin/auth/", "/admin/authtoken/", "/admin/axes/")
# Not pages a person reads: they log out, answer JSON, or redirect elsewhere.
SKIPPED = {"admin:logout", "admin:jsi18n", "admin:autocomplete", "admin:view_on_site",
           "admin:login"}  # fmt: skip
WORD = re.compile(r"[A-Za-z][A-Za-z.]*[A-Za-z]")


class VisibleText(HTMLParser):
    """The text a reader sees: text nodes (not scripts or styles), the labels of buttons,
    placeholders and titles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self.hidden += 1
        found = dict(attrs)
        if tag == "input" and found.get("type") in ("submit", "button"):
            self.parts.append(found.get("value") or "")
        self.parts += [found.get(a) or "" for a in ("placeholder", "title", "aria-label")]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


# Django's headings for screen readers, which its own catalog leaves in English.
SCREEN_READER_ONLY = re.compile(r'<(\w+)[^>]*class="[^"]*visually-hidden[^"]*"[^>]*>.*?</\1>', re.S)


def visible_words(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(SCREEN_READER_ONLY.sub("", html))
    return set(WORD.findall(" ".join(parser.parts)))


def data_words() -> set[str]:
    """Every word stored in a text or JSON column without choices (names, comments, ids,
    keywords, payloads), the texts we send customers (shown as they are sent) and the
    names of time zones (IANA's, offered in the zone pickers)."""
    found: set[str] = set()
    for model in apps.get_models():
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(
                f, models.CharField | models.TextField | models.JSONField | models.UUIDField
            )
            and not f.choices
        ]
        for row in model._default_manager.values_list(*fields) if fields else []:
            found |= {w for value in row if value for w in WORD.findall(str(value))}
    sms = [
        *DEFAULT_QUESTIONS.values(),
        *OPT_OUT_INSTRUCTION.values(),
        *(text for texts in DEFAULTS.values() for text in texts.values()),
    ]
    found |= {w for text in sms for w in WORD.findall(text)}
    # The configured gateways' names (NPS_GATEWAYS), offered in the gateway pickers.
    found |= {w for slug in settings.NPS_GATEWAYS for w in WORD.findall(slug)}
    return found | {w for zone in available_timezones() for w in WORD.findall(zone)}


def untranslated(english: set[str], chinese: set[str], allowed: set[str]) -> set[str]:
    return (chinese & english) - allowed - PROPER


def admin_urls(world: World) -> Iterator[str]:
    for page in PAGES:
        if not (page.name or "").startswith("admin:") or page.name in SKIPPED:
            continue
        url = reverse(page.name, kwargs={p: fill(page, p, world) for p in page.params})
        if not url.startswith(THIRD_PARTY) and page.variant not in ("auth", "authtoken", "axes"):
            yield url


def html_in(client: Client, url: str, language: str) -> str | None:
    client.cookies["django_language"] = language
    answer = client.get(url)
    if answer.status_code != 200 or "text/html" not in answer.get("Content-Type", ""):
        return None
    return answer.content.decode()


@pytest.fixture
def world(db: Any) -> World:
    cache.clear()
    made = world_make()
    rollups_rebuild()
    return made


def pages_for(user: User, world: World) -> Iterator[tuple[str, str, str]]:
    """(url, English page, Chinese page) for every page this user may open."""
    client = Client()
    client.force_login(user)
    campaign = Campaign.objects.get(name=MATRIX_CAMPAIGN)
    care = [
        reverse("care-pool"),
        reverse("care-campaigns"),
        reverse("care-campaign", args=[campaign.pk]),
    ]
    for url in [*admin_urls(world), reverse("dashboard"), *care]:
        english = html_in(client, url, "en")
        if english is not None:
            chinese = html_in(client, url, "zh-hans")
            assert chinese is not None, url
            yield url, english, chinese


@pytest.mark.parametrize("role", ["superuser", "supervisor", "lead", "agent"])
def test_no_page_a_staff_member_opens_has_english_left_in_chinese(world: World, role: str) -> None:
    people = world.people
    user = {
        "superuser": User.objects.filter(is_superuser=True).first()
        or User.objects.create_superuser("root", password="pw"),
        "supervisor": people.supervisor,
        "lead": people.lead,
        "agent": people.agent,
    }[role]
    allowed = data_words()
    found: dict[str, set[str]] = {}
    seen = 0
    for url, english, chinese in pages_for(user, world):
        seen += 1
        assert '<html lang="zh-hans"' in chinese, url
        if words := untranslated(visible_words(english), visible_words(chinese), allowed):
            found[url] = words
    assert seen >= 3, "too few pages walked to mean anything"
    assert found == {}, "\n".join(f"{url}: {sorted(words)}" for url, words in found.items())


def test_the_comparison_catches_a_missing_translation() -> None:
    english = visible_words("<p>Cases opened</p><p>Team North</p>")
    chinese = visible_words("<p>Cases opened</p><p>班组 North</p>")

    assert untranslated(english, chinese, allowed={"North"}) == {"Cases", "opened"}


@pytest.mark.parametrize("level", [1, SUPERVISOR])
def test_the_escalation_email_is_in_the_staff_language(world: World, level: int) -> None:
    def text(language: str) -> str:
        with translation.override(language):
            email = escalation_message(
                case=world.case, level=level, clock="first_contact", recipients=["a@example.com"]
            )
        return f"{email.subject}\n{email.body}"

    english, chinese = text("en"), text("zh-hans")

    words = untranslated(set(WORD.findall(english)), set(WORD.findall(chinese)), data_words())
    assert words == set()
    assert "回访坐席" in chinese
