from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from surveys.models import Category, Invitation, InvitationStatus, Response
from tests.factories import CustomerFactory, InteractionFactory


@pytest.fixture
def detractor(db: Any) -> Callable[..., Response]:
    """Make a detractor response (score 2) of a B-tier customer: raw rows, no signal."""

    def make(phone: str = "+8613900000000", region: str = "BJ", score: int = 2) -> Response:
        customer = CustomerFactory(phone=phone, region=region, tier="B")
        interaction = InteractionFactory(customer=customer)
        invitation = Invitation.objects.create(
            interaction=interaction,
            customer=customer,
            status=InvitationStatus.RESPONDED,
            sent_at=datetime.now(UTC),
        )
        return Response.objects.create(
            invitation=invitation,
            customer=customer,
            interaction=interaction,
            score=score,
            category=Category.for_score(score),
        )

    return make
