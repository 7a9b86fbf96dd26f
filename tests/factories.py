"""factory_boy factories: raw rows only; state changes in tests go through services."""

from datetime import UTC, datetime, time

import factory

from followups.models import Agent, Team
from surveys.models import Customer, Interaction, Survey


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    phone = factory.Sequence(lambda n: f"+86139{n:08d}")
    name = factory.Faker("name")
    language = "zh-hans"
    tier = "B"
    region = "BJ"


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    name = "After-service NPS"
    delay_minutes = 0
    quiet_start = time(0, 0)
    quiet_end = time(0, 0)  # equal: no quiet hours


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    external_id = factory.Sequence(lambda n: f"CRM-{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    touchpoint = "hotline"
    occurred_at = factory.LazyFunction(lambda: datetime.now(UTC))


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")
    regions = factory.LazyFunction(lambda: ["BJ"])


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    name = factory.Sequence(lambda n: f"Agent {n}")
    team = factory.SubFactory(TeamFactory)
    capacity = 5
