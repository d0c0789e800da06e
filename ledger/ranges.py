"""Serial ranges: inclusive ``start..end`` runs of kilograms inside one batch, and their arithmetic.

All functions are pure and work on sorted, non-overlapping lists of ranges. The ledger never stores a
fraction of a kilogram, so a range of ``n`` kilograms always satisfies ``end - start + 1 == n``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True, slots=True)
class SerialRange:
    """Kilograms ``start..end`` (inclusive) of one batch."""

    batch_id: str
    start: int
    end: int

    def __post_init__(self) -> None:
        assert 1 <= self.start <= self.end, (self.start, self.end)

    def __reduce__(self) -> tuple[type[SerialRange], tuple[str, int, int]]:
        # Copies and pickles through the constructor: a compiled frozen dataclass cannot be filled in
        # field by field (ledger/native.py).
        return (SerialRange, (self.batch_id, self.start, self.end))

    @property
    def quantity_kg(self) -> int:
        return self.end - self.start + 1

    def overlaps(self, other: SerialRange) -> bool:
        return self.batch_id == other.batch_id and self.start <= other.end and other.start <= self.end


Span = tuple[int, int]
"""An inclusive ``(start, end)`` pair inside a batch that the caller already knows."""


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sort spans and join those that touch or overlap."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            last_start, last_end = merged[-1]
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def covers(held: Sequence[Span], start: int, end: int) -> bool:
    """Whether the merged, sorted ``held`` spans contain every kilogram of ``start..end``."""
    for held_start, held_end in held:
        if held_start <= start and end <= held_end:
            return True
        if held_start > start:
            return False
    return False


def subtract(held: Sequence[Span], start: int, end: int) -> list[Span]:
    """``held`` with ``start..end`` removed; the caller has checked that it is covered."""
    out: list[Span] = []
    for held_start, held_end in held:
        if held_end < start or held_start > end:
            out.append((held_start, held_end))
            continue
        if held_start < start:
            out.append((held_start, start - 1))
        if held_end > end:
            out.append((end + 1, held_end))
    return out


def take_lowest(held: Sequence[Span], quantity_kg: int) -> tuple[list[Span], int]:
    """The lowest serials of ``held`` up to ``quantity_kg``; returns the spans and what is still owed."""
    taken: list[Span] = []
    remaining = quantity_kg
    for held_start, held_end in held:
        if remaining == 0:
            break
        size = held_end - held_start + 1
        if size <= remaining:
            taken.append((held_start, held_end))
            remaining -= size
        else:
            taken.append((held_start, held_start + remaining - 1))
            remaining = 0
    return taken, remaining
