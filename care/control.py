"""Which customers of a campaign are held out as its control group.

Stratified and reproducible: the same seed and customers give the same control group
whatever the order they come in, and each stratum (a customer's tier and region, say)
gives its share to the control group, within one customer.

The rule, for a share s (default 10%) of N customers in strata of n_1 .. n_k:

1. The control group has round(s * N) customers in all, rounded half up (5 customers at
   10% give 1; Python's round() would give 0, rounding half to even).
2. Each stratum first gets floor(s * n_i); the customers still owed go one each to the
   strata with the largest remainders s * n_i - floor(s * n_i) (Hamilton's largest
   remainder method). Equal remainders are ordered by a keyed hash of the stratum under
   the seed, so it is not always the same region that gets the extra customer. Every
   stratum ends strictly within one customer of s * n_i, and the total is exactly
   round(s * N). The share is read as written (0.1 is exactly 1/10, not the float
   next to it).
3. Within a stratum, customers are ordered by a keyed hash of (seed, customer id)
   (BLAKE2b keyed with a digest of the seed; Python's hash() is salted per process) and
   the first ones make up its control count.

Seeds and customer ids are compared by their text: seed 7 and "7" are one seed, customer
7 and "7" one customer. Strata are any values with a stable repr (tuples of str, int or
None), compared by equality.

There is no function that answers "is this one customer in control?" on its own. A
per-customer test (hash below s) keeps s only on average: the count in a stratum of n
would spread by sqrt(n * s * (1 - s)) customers (about 9 in 1000 at 10%), and the tier and
region shares with it. An exact count needs each customer's rank among the others of
its stratum, and the stratum's remainder against the other strata: the whole list.
The split therefore belongs to the moment a campaign starts, and is stored with it: a
customer who joins the segment later would move the quotas and could push another
customer out of the control group.
"""

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from fractions import Fraction
from hashlib import blake2b
from math import floor

DEFAULT_SHARE = 0.10

CustomerId = int | str
Stratum = Hashable


def _key(seed: str | int) -> bytes:
    return blake2b(str(seed).encode(), digest_size=32, person=b"care.control").digest()


def _rank(key: bytes, customer_id: CustomerId) -> tuple[bytes, str]:
    text = str(customer_id)
    return blake2b(text.encode(), key=key, digest_size=16).digest(), text


def control_rank(seed: str | int, customer_id: CustomerId) -> tuple[bytes, str]:
    """A customer's place in its stratum under this seed: lower comes first into control."""
    return _rank(_key(seed), customer_id)


def _exact(share: float) -> Fraction:
    exact = Fraction(str(share))
    if not 0 <= exact <= 1:
        raise ValueError(f"the control share must be between 0 and 1, got {share}")
    return exact


def control_total(size: int, *, share: float = DEFAULT_SHARE) -> int:
    """round(share * size), half up: how many of size customers the control group holds."""
    return floor(_exact(share) * size + Fraction(1, 2))


def control_quotas(
    sizes: Mapping[Stratum, int], *, seed: str | int, share: float = DEFAULT_SHARE
) -> dict[Stratum, int]:
    """How many customers of each stratum go to control (largest remainder, see above)."""
    exact = _exact(share)
    quotas = {stratum: floor(exact * size) for stratum, size in sizes.items()}
    owed = control_total(sum(sizes.values()), share=share) - sum(quotas.values())
    key = _key(seed)

    def remainder_order(stratum: Stratum) -> tuple[Fraction, bytes]:
        tie = blake2b(repr(stratum).encode(), key=key, digest_size=16).digest()
        return (-(exact * sizes[stratum] - quotas[stratum]), tie)

    # 0 <= owed <= the number of strata with a remainder above 0 (the remainders sum to less
    # than that number): only those get one more, none gets two, none more than its size.
    for stratum in sorted(sizes, key=remainder_order)[:owed]:
        quotas[stratum] += 1
    return quotas


def control_group(
    *,
    seed: str | int,
    customers: Iterable[tuple[CustomerId, Stratum]],
    share: float = DEFAULT_SHARE,
) -> frozenset[CustomerId]:
    """The ids held out as control: the same for the same seed and customers, in any order."""
    members: dict[Stratum, list[CustomerId]] = defaultdict(list)
    seen: set[str] = set()
    for customer_id, stratum in customers:
        if str(customer_id) in seen:
            raise ValueError(f"customer {customer_id!r} is listed twice")
        seen.add(str(customer_id))
        members[stratum].append(customer_id)
    quotas = control_quotas(
        {stratum: len(ids) for stratum, ids in members.items()}, seed=seed, share=share
    )
    key = _key(seed)
    control: set[CustomerId] = set()
    for stratum, ids in members.items():
        ids.sort(key=lambda customer_id: _rank(key, customer_id))
        control.update(ids[: quotas[stratum]])
    return frozenset(control)
