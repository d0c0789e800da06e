"""The registry's non-permanence buffer share per project type (data/buffer_policy.toml, sourced there)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from offsets.models import PROJECT_TYPES


@cache
def buffer_percent_by_type() -> dict[str, int]:
    text = resources.files("offsets.data").joinpath("buffer_policy.toml").read_text(encoding="utf-8")
    document = tomllib.loads(text)
    shares = document["buffer_percent"]
    if set(shares) != set(PROJECT_TYPES):
        raise ValueError(f"buffer_policy.toml must set every project type: {sorted(PROJECT_TYPES)}")
    for project_type, share in shares.items():
        if not isinstance(share, int) or isinstance(share, bool) or not 0 <= share <= 100:
            raise ValueError(f"buffer share of {project_type} must be a whole percentage")
    if not document.get("source", {}).get("document"):
        raise ValueError("buffer_policy.toml must cite its source")
    return dict(shares)


def default_buffer_percent(project_type: str) -> int:
    return buffer_percent_by_type()[project_type]
