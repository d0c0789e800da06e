"""An order's recorded lines as its page shows them: read back by their wording, ready to be worded again.

The marketplace records an order's allocation explanation and its events' notes in English
(:mod:`marketplace.order_notes`). The page reads each line back and hands ``order_note`` in
templates/order_notes.html the wording's key and its values, formatted as the pages format numbers, with
a county's name beside its code; the macro words the line in the page's language (translated like every
other sentence). A line no wording wrote is shown as it was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from marketplace.order_notes import NUMBER_FIELDS, read_note
from offsets import regions
from web.pages.formatting import kg

KILOGRAM_FIELDS = frozenset(name for name in NUMBER_FIELDS if name.endswith("_kg"))


@dataclass(frozen=True)
class ShownNote:
    """A recorded line: the key of the wording that wrote it (None if none did), its values, the line."""

    key: str | None
    line: str
    values: dict[str, str] = field(default_factory=dict)


def shown_note(line: str) -> ShownNote:
    note = read_note(line)
    if note is None:
        return ShownNote(None, line)
    values = dict(note.values)
    for name in KILOGRAM_FIELDS & values.keys():
        values[name] = kg(int(values[name]))
    if "county_code" in values:
        values["county"] = county_label(values["county_code"])
    return ShownNote(note.key, line, values)


def shown_lines(text: str) -> list[ShownNote]:
    """The non-empty lines of a recorded explanation, each read back."""
    return [shown_note(line) for line in text.split("\n") if line]


def county_label(code: str) -> str:
    """``盐源县 513423``; the code alone for a code the divisions do not know (never, for a listed lot)."""
    try:
        return f"{regions.division(code).name} {code}"
    except regions.UnknownRegion:
        return code
