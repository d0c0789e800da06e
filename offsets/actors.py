"""Who is acting: a person or API key, with one role, on behalf of one organisation."""

from __future__ import annotations

from dataclasses import dataclass

from offsets.lifecycle import Role


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role
    organisation_id: int | None = None

    def __str__(self) -> str:
        return f"{self.name} ({self.role.value})"
