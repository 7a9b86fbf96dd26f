"""Who sees which units: supervisors all, owners their units and everything below."""

import pytest
from django.contrib.auth.models import Group, User

from followups.roles import SUPERVISORS, unit_scope
from surveys.models import Unit, UnitKind


@pytest.mark.django_db
def test_an_owner_sees_their_units_subtree_and_a_supervisor_everything() -> None:
    province = Unit.objects.create(name="Province", kind=UnitKind.PROVINCE)
    city = Unit.objects.create(name="Lhasa", kind=UnitKind.CITY, parent=province)
    store = Unit.objects.create(name="Store 1", kind=UnitKind.STORE, parent=city)
    other = Unit.objects.create(name="Shigatse", kind=UnitKind.CITY, parent=province)
    owner = User.objects.create_user("owner")
    city.owners.add(owner)
    assert unit_scope(owner) == sorted([city.pk, store.pk])
    assert other.pk not in (unit_scope(owner) or [])
    nobody = User.objects.create_user("nobody")
    assert unit_scope(nobody) == []
    chief = User.objects.create_user("chief")
    chief.groups.add(Group.objects.get_or_create(name=SUPERVISORS)[0])
    assert unit_scope(chief) is None
