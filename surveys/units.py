"""The unit tree and attribution: which unit served an interaction, and what lies below a unit.

An interaction names its store or channel by the CRM's id (Interaction.unit_code); the
UnitCode table maps that id to a unit. A code seen before it was mapped keeps the id and no
unit; mapping it later (`unit_code_map`) attributes those interactions and their cases, so
no answer is left out of its unit's figures once someone maps the code.

A unit's figures are the sum over its subtree: `units_below` gives the ids, from one query
over the whole tree (an organisation has thousands of units, not millions).
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Max, Min

from surveys.models import Interaction, Unit, UnitCode
from surveys.signals import interactions_attributed


def unit_for_code(code: str) -> int | None:
    """The id of the unit a CRM store or channel id is mapped to, if it is."""
    if not code:
        return None
    return UnitCode.objects.filter(code=code).values_list("unit_id", flat=True).first()


def children_by_parent() -> dict[int | None, list[int]]:
    """The whole tree as parent id -> child ids (None: the top units), one query."""
    tree: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent in Unit.objects.order_by("pk").values_list("pk", "parent_id"):
        tree[parent].append(pk)
    return dict(tree)


def units_below(
    root: int, *, tree: dict[int | None, list[int]] | None = None
) -> list[int]:
    """`root` and every unit under it, at any depth."""
    tree = children_by_parent() if tree is None else tree
    found, todo = [], [root]
    while todo:
        unit = todo.pop()
        found.append(unit)
        todo.extend(tree.get(unit, ()))
    return found


def ancestors(unit: int, *, parents: dict[int, int | None] | None = None) -> list[int]:
    """The units `unit` is part of, nearest first (not `unit` itself)."""
    if parents is None:
        parents = dict(Unit.objects.values_list("pk", "parent_id"))
    found, at = [], parents.get(unit)
    while at is not None and at not in found:
        found.append(at)
        at = parents.get(at)
    return found


def interactions_attribute(*, code: str, unit_id: int) -> int:
    """Give the interactions that carry `code` and no unit the unit `unit_id`, and tell the
    other apps (signals.interactions_attributed); returns how many."""
    with transaction.atomic():
        ids = list(
            Interaction.objects.filter(unit_code=code, unit__isnull=True)
            .select_for_update()
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        Interaction.objects.filter(pk__in=ids, unit__isnull=True).update(unit_id=unit_id)
        interactions_attributed.send(sender=Unit, unit_id=unit_id, interaction_ids=ids)
    return len(ids)


def unit_code_map(code: str, unit: Unit) -> int:
    """Map a CRM id to `unit` and attribute the unattributed interactions that carry it (and
    their cases still without a responsible unit); returns how many interactions."""
    with transaction.atomic():
        UnitCode.objects.update_or_create(code=code, defaults={"unit": unit})
        return interactions_attribute(code=code, unit_id=unit.pk)


def unit_codes_apply(codes: Iterable[str]) -> int:
    """Attribute the unattributed interactions of the already mapped `codes`."""
    done = 0
    for code, unit_id in UnitCode.objects.filter(code__in=list(codes)).values_list(
        "code", "unit_id"
    ):
        done += interactions_attribute(code=code, unit_id=unit_id)
    return done


def units_in_tree_order(*, active_only: bool = False) -> list[tuple[int, int, str]]:
    """Every unit as (id, depth, name), each parent before its children, siblings by name
    (one query): for indented lists. An inactive unit hides its subtree when `active_only`."""
    rows = Unit.objects.order_by("name", "pk").values_list("pk", "parent_id", "name", "is_active")
    children: dict[int | None, list[tuple[int, str, bool]]] = defaultdict(list)
    for pk, parent, name, active in rows:
        children[parent].append((pk, name, active))
    found: list[tuple[int, int, str]] = []
    todo = [(pk, 0, name, active) for pk, name, active in reversed(children[None])]
    while todo:
        pk, depth, name, active = todo.pop()
        if active_only and not active:
            continue
        found.append((pk, depth, name))
        todo.extend((c, depth + 1, n, a) for c, n, a in reversed(children.get(pk, [])))
    return found


def unmapped_unit_codes() -> list[dict[str, object]]:
    """CRM ids seen on interactions that no UnitCode maps, most interactions first: code,
    interactions, first and last occurred_at."""
    return list(
        Interaction.objects.filter(unit__isnull=True)
        .exclude(unit_code="")
        .exclude(unit_code__in=UnitCode.objects.values("code"))
        .values("unit_code")
        .annotate(interactions=Count("pk"), first=Min("occurred_at"), last=Max("occurred_at"))
        .order_by("-interactions", "unit_code")
    )
