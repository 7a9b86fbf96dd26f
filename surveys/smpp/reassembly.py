"""A customer's long message arrives as parts (deliver_sm with a concatenation header):
they are held, unanswered, until the message is whole, then stored as one and all
answered (surveys/smpp/session.py). Held parts belong to one connection: when it breaks
they are dropped, and the SMS centre delivers them again, as they were never answered."""

from dataclasses import dataclass, field
from typing import Any

from surveys.smpp.inbound import Delivered
from surveys.smpp.wire import Concat, sender_phone

PartsKey = tuple[str, int, int]  # sender, concatenation reference, number of parts


@dataclass
class HeldParts:
    first_at: float
    total: int
    texts: dict[int, str] = field(default_factory=dict)
    sequences: list[int] = field(default_factory=list)  # the deliver_sm to answer
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Whole:
    """A message put together: what to store, and the deliver_sm to answer once stored."""

    delivered: Delivered
    sequences: list[int]


class Reassembly:
    def __init__(self) -> None:
        self.held: dict[PartsKey, HeldParts] = {}

    def part_add(
        self, *, concat: Concat, text: str, sequence: int, fields: dict[str, Any], now: float
    ) -> Whole | None:
        """Hold one part; the whole message when this was its last part."""
        key = (fields["source_addr"], concat.reference, concat.total)
        held = self.held.setdefault(key, HeldParts(first_at=now, total=concat.total))
        held.texts[concat.index] = text
        held.sequences.append(sequence)
        held.fields = fields
        return self._whole(key) if len(held.texts) == held.total else None

    def overdue(self, *, now: float, limit: float) -> list[Whole]:
        """Messages whose parts stopped coming: stored with the parts that came."""
        return [
            self._whole(key)
            for key in [k for k, h in self.held.items() if now - h.first_at > limit]
        ]

    def clear(self) -> None:
        self.held.clear()

    def _whole(self, key: PartsKey) -> Whole:
        held = self.held.pop(key)
        text = "".join(held.texts[n] for n in sorted(held.texts))
        fields = {k: v for k, v in held.fields.items() if k != "source_addr_ton"}
        delivered = Delivered(
            source_addr=sender_phone(held.fields["source_addr"], held.fields["source_addr_ton"]),
            destination_addr=held.fields["destination_addr"],
            text=text,
            raw=fields | {"text": text, "parts": held.total, "parts_received": sorted(held.texts)},
        )
        return Whole(delivered, held.sequences)
