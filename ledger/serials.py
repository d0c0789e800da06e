"""Human-readable identifiers: accounts, projects, batches and serial numbers.

A serial number states its batch and range, ``SC-<project>-<vintage>-<batch>-<start>-<end>``, for
example ``SC-LS0012-2023-001-1-5000``: project ``LS0012``, vintage 2023, the project's first batch of that
vintage, kilograms 1 to 5,000. ``end - start + 1`` is always the quantity in kilograms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from ledger.errors import InvalidCommand

SERIAL_PREFIX: Final = "SC"
ACCOUNT_ID: Final = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,62}[A-Z0-9]$")
PROJECT_CODE: Final = re.compile(r"^[A-Z0-9]{2,16}$")
# ASCII digits only: ``\d`` alone also matches other scripts' digits (２０２３), which would make ids that
# look like another batch's, or read as one (int("００１") is 1).
VINTAGE: Final = re.compile(r"^(19|20|21)\d{2}$", re.ASCII)
BATCH_ID: Final = re.compile(r"^(?P<project>[A-Z0-9]{2,16})-(?P<vintage>\d{4})-(?P<number>\d{3})$", re.ASCII)
MAX_BATCH_NUMBER: Final = 999


@dataclass(frozen=True, slots=True)
class BatchId:
    project: str
    vintage: str
    number: int

    def __str__(self) -> str:
        return f"{self.project}-{self.vintage}-{self.number:03d}"

    def __reduce__(self) -> tuple[type[BatchId], tuple[str, str, int]]:
        # Through the constructor, as compiled frozen dataclasses need (ledger/native.py).
        return (BatchId, (self.project, self.vintage, self.number))


def batch_id(project: str, vintage: str, number: object) -> str:
    if not PROJECT_CODE.fullmatch(project):
        raise InvalidCommand("project code must be 2-16 capital letters or digits", field="project")
    if not VINTAGE.fullmatch(vintage):
        raise InvalidCommand("vintage must be a four-digit year", field="vintage")
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_BATCH_NUMBER:
        raise InvalidCommand(f"batch number must be an integer from 1 to {MAX_BATCH_NUMBER}", field="number")
    return str(BatchId(project, vintage, number))


def parse_batch_id(value: object) -> BatchId:
    match = BATCH_ID.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise InvalidCommand(f"not a batch id (PROJECT-YYYY-NNN): {value!r}", field="batch")
    return BatchId(match["project"], match["vintage"], int(match["number"]))


def serial_number(batch: str, start: int, end: int) -> str:
    assert 1 <= start <= end
    return f"{SERIAL_PREFIX}-{batch}-{start}-{end}"


@lru_cache(maxsize=8192)
def _is_account_id(value: str) -> bool:
    # Cached: every entry appended or replayed names one or two accounts, mostly the same few thousand.
    return ACCOUNT_ID.fullmatch(value) is not None


def check_account_id(value: object, field: str = "account") -> str:
    if not isinstance(value, str) or not _is_account_id(value):
        raise InvalidCommand("account ids are 3-64 capital letters, digits and inner hyphens", field=field)
    return value
