"""Demo data and logins: a survey, teams, agents, staff users, an API token, 90 days of history
and care campaigns on it.

Idempotent (everything is get-or-create; the history is written once) and deterministic
(the history is seeded random, relative to the day it runs).
"""

from datetime import time
from functools import cached_property
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from followups.models import Agent, Team
from followups.permissions import CRM, roles_ensure
from followups.roles import AGENTS, SUPERVISORS, TEAM_LEADS
from nps.demo_care import care_demo_seed
from nps.demo_history import history_seed
from nps.demo_units import units_demo_seed
from nps.reporting.rebuild import rollups_rebuild
from surveys.models import Language, Survey, SurveyText
from surveys.texts import DEFAULT_QUESTIONS

DEMO_PASSWORD = "demo12345"  # noqa: S105 (documented demo login, development only)
DEMO_TOKEN = "demo-crm-token-0123456789abcdef01234567"  # noqa: S105
TEAMS = {"North callback team": ["BJ", "TJ", "HE"], "East callback team": ["SH", "JS", "ZJ"]}
FALLBACK_TEAM = "National callback team"  # the default route: every other region
# The demo's Tibetan speaker: Tibetan customers' cases (region XZ: the default route) go to her.
SPEAKERS = {"national2": {"languages": ["zh-hans", "bo"], "dialects": "Lhasa, Amdo"}}


class Command(BaseCommand):
    help = "Create demo data and logins (idempotent)."

    def _user(self, username: str, group: Group, *, email: str = "") -> User:
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "email": email}
        )
        if created:
            user.password = self._demo_hash
            user.save(update_fields=["password"])
        user.groups.add(group)
        return user

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-history", action="store_true", help="logins and teams only, no 90 days"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = timezone.now()
        with transaction.atomic():
            survey = self._staff_and_survey()
            written = 0 if options["no_history"] else history_seed(survey=survey)
            # The pool, two segments, a finished care campaign and a running one (once).
            cared = 0 if options["no_history"] else care_demo_seed()
            # The unit tree, its CRM ids, targets and rules; the history's units and cases.
            attributed = units_demo_seed()
        if written:
            # The dashboard reads only rollups: build them for the invented days at once.
            days = rollups_rebuild()
            seconds = (timezone.now() - started).total_seconds()
            self.stdout.write(
                f"History: {written} interactions over {days} days ({seconds:.1f} s)."
            )
        if attributed:
            self.stdout.write(f"Units: {attributed} interactions attributed to their units.")
        if cared:
            self.stdout.write(f"Care: {cared} campaign members, one campaign finished.")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    @cached_property
    def _demo_hash(self) -> str:
        # Hashing is slow on purpose: once for every demo login, and only for new ones.
        return make_password(DEMO_PASSWORD)

    def _staff_and_survey(self) -> Survey:
        admin, created = User.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            admin.password = self._demo_hash
            admin.save(update_fields=["password"])
        crm, _ = User.objects.get_or_create(username="crm")
        Token.objects.get_or_create(user=crm, defaults={"key": DEMO_TOKEN})
        roles_ensure()
        crm.groups.add(Group.objects.get(name=CRM))  # the token's scope: interactions, cases
        survey, created = Survey.objects.get_or_create(
            name="After-service NPS",
            # The demo answers at any hour: quiet hours off (equal start and end).
            # Real surveys default to 21:00-09:00 in the customer's zone. A fatigue window
            # of one day: a demo customer can be surveyed again tomorrow (real: 30 days).
            defaults={
                "delay_minutes": 0,
                "quiet_start": time(0, 0),
                "quiet_end": time(0, 0),
                "fatigue_days": 1,
            },
        )
        if created:
            for language in (Language.ZH_HANS, Language.EN):
                SurveyText.objects.create(
                    survey=survey, language=language, question=DEFAULT_QUESTIONS[language]
                )
        groups = {name: Group.objects.get(name=name) for name in (AGENTS, TEAM_LEADS, SUPERVISORS)}
        self._user("supervisor", groups[SUPERVISORS], email="supervisor@example.com")
        for name, regions in [*TEAMS.items(), (FALLBACK_TEAM, [])]:
            prefix = name.split()[0].lower()
            lead = self._user(f"{prefix}_lead", groups[TEAM_LEADS], email=f"{prefix}@example.com")
            team, _ = Team.objects.get_or_create(name=name, defaults={"regions": regions})
            Team.objects.filter(pk=team.pk, lead__isnull=True).update(lead=lead)
            for n in (1, 2):
                user = self._user(f"{prefix}{n}", groups[AGENTS])
                Agent.objects.get_or_create(
                    user=user,
                    defaults={
                        "name": f"{name.split()[0]} agent {n}",
                        "team": team,
                        **SPEAKERS.get(user.username, {}),
                    },
                )
        if not Team.objects.filter(is_default_route=True).exists():  # one default, if none yet
            Team.objects.filter(name=FALLBACK_TEAM).update(is_default_route=True)
        return survey
