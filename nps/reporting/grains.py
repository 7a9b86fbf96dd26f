"""Which combinations of dimensions the rollup tables keep, and which one a read uses.

A grain is a set of dimensions, stored as a bit mask over nps.models.DIMENSION_FIELDS.
Each rollup table holds every day once per grain in GRAINS. The finest grain (FULL)
keeps all seven dimensions, so any combination of filters can be answered; but with
thousands of agents it has nearly a row per response. Coarser grains keep few
dimensions and have a few hundred rows a day, so the usual reads (no filter, one or two
filters, a breakdown by one dimension) sum a few thousand rows for a quarter:

- every set of at most three of the six small dimensions (touchpoint, channel,
  business type, region, tier, team): 42 grains, the empty set (day totals) included;
- the agent alone, and the agent with one small dimension: 7 grains;
- the unit alone, and the unit with one small dimension: 7 grains (a unit's figures, the
  scorecards, the alert rules per unit and touchpoint, the reports);
- FULL, for everything else (e.g. three filters and a breakdown).

`grain_for(needed)` picks the grain with the fewest dimensions that holds `needed`
(preferring grains without the agent), so its rows are as few as possible.
"""

from functools import cache
from itertools import combinations

from nps.models import DIMENSION_FIELDS

AGENT = "agent"
UNIT = "unit_id"
SMALL = tuple(name for name in DIMENSION_FIELDS if name not in (AGENT, UNIT))
MAX_SMALL = 3


def mask(fields: frozenset[str] | set[str] | tuple[str, ...]) -> int:
    unknown = set(fields) - set(DIMENSION_FIELDS)
    if unknown:
        raise ValueError(f"unknown dimensions {sorted(unknown)}")
    return sum(1 << DIMENSION_FIELDS.index(name) for name in fields)


def fields_of(grain: int) -> tuple[str, ...]:
    """The dimensions a grain keeps, in DIMENSION_FIELDS order."""
    return tuple(name for i, name in enumerate(DIMENSION_FIELDS) if grain & (1 << i))


FULL = mask(DIMENSION_FIELDS)


def _grains() -> tuple[int, ...]:
    found = {mask(combo) for k in range(MAX_SMALL + 1) for combo in combinations(SMALL, k)}
    found |= {mask((AGENT, *combo)) for k in range(2) for combo in combinations(SMALL, k)}
    found |= {mask((UNIT, *combo)) for k in range(2) for combo in combinations(SMALL, k)}
    found.add(FULL)
    return tuple(sorted(found, key=_cost))


def _cost(grain: int) -> tuple[bool, bool, int, int]:
    """Agent grains are big, unit grains next, then the more dimensions the more rows."""
    return (
        bool(grain & mask((AGENT,))),
        bool(grain & mask((UNIT,))),
        bin(grain).count("1"),
        grain,
    )


GRAINS = _grains()


@cache
def grain_for(needed: frozenset[str]) -> int:
    """The cheapest stored grain that keeps every dimension in `needed`."""
    want = mask(needed)
    return next(grain for grain in GRAINS if grain & want == want)


@cache
def parent_of(grain: int) -> int:
    """The cheapest other stored grain to compute `grain` from (FULL comes from raw rows)."""
    if grain == FULL:
        raise ValueError("the full grain is computed from the raw rows")
    return next(g for g in GRAINS if g != grain and g & grain == grain and _before(g, grain))


def _before(parent: int, grain: int) -> bool:
    """Parents are computed first: build order is GRAINS from the finest to the coarsest."""
    return BUILD_ORDER.index(parent) < BUILD_ORDER.index(grain)


# The finest first, so every grain's parent exists when it is computed.
BUILD_ORDER = tuple(sorted(GRAINS, key=lambda g: -bin(g).count("1")))


def _depth(grain: int) -> int:
    return 0 if grain == FULL else 1 + _depth(parent_of(grain))


# The coarser grains in waves: each grain's parent is in an earlier wave (or is FULL), so a
# wave's grains can be summed in one statement from rows that all exist before it starts.
BUILD_WAVES = tuple(
    tuple(g for g in BUILD_ORDER if g != FULL and _depth(g) == depth)
    for depth in range(1, 1 + max(_depth(g) for g in GRAINS))
)
