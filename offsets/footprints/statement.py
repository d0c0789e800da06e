"""The event's carbon-neutral statement: an event footprint set out in the 2019 guideline's categories.

The Ministry of Ecology and Environment's 《大型活动碳中和实施指南（试行）》 (2019) asks an organiser to
account the event's emissions by source and to show that they are offset in full. :func:`event_statement`
turns an event :class:`~offsets.footprints.calculators.Footprint` and the kilograms retired for it into
the figures such a statement needs: every guideline category (zero where nothing was entered, so
that the reader sees what was counted), the exact total, the footprint in whole kilograms rounded
*up*, the kilograms offset, the certificates that prove the retirement, and whether the event is
carbon neutral. It is plain data: the marketplace puts it on the event certificate and the public
event page; nothing is stored here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from offsets.footprints.calculators import CATEGORIES, Footprint, display_kg

GUIDELINE = {
    "zh": "生态环境部《大型活动碳中和实施指南（试行）》（2019年）",
    "en": "Ministry of Ecology and Environment, Guidelines for Carbon Neutrality of Large-scale Events "
    "(Trial), 2019",
}

# The guideline's emission categories, in the order the statement lists them, Chinese first.
EVENT_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("fossil_fuel_combustion", "化石燃料燃烧排放", "Fossil fuel combustion"),
    ("purchased_electricity_heat", "净购入电力、热力排放", "Net purchased electricity and heat"),
    ("transport", "交通排放", "Transport"),
    ("accommodation_catering", "住宿餐饮排放", "Accommodation and catering"),
    ("materials", "会议用品隐含的碳排放", "Embodied emissions of materials"),
    ("waste", "废弃物处理产生的排放", "Waste treatment"),
)
assert all(CATEGORIES[code] == f"{zh} {en}" for code, zh, en in EVENT_CATEGORIES)

MAX_CERTIFICATES = 1000


def event_statement(result: Footprint, offset_kg: int, certificate_ids: Sequence[str]) -> dict[str, Any]:
    """The figures of the event's carbon-neutral statement, in Chinese with English.

    ``offset_kg`` is the whole kilograms retired for the event and ``certificate_ids`` the certificates of
    those retirements. The event is carbon neutral when the offset covers the footprint rounded up to whole
    kilograms (CONVENTIONS.md §3: never under-offset).
    """
    assert result.kind == "event", result.kind
    assert isinstance(offset_kg, int), offset_kg
    assert not isinstance(offset_kg, bool), offset_kg
    assert offset_kg >= 0, offset_kg
    assert len(certificate_ids) <= MAX_CERTIFICATES
    assert all(isinstance(item, str) and item for item in certificate_ids), certificate_ids
    by_category = result.by_category()
    unexpected = sorted(set(by_category) - {code for code, _, _ in EVENT_CATEGORIES})
    assert not unexpected, unexpected
    footprint_kg = math.ceil(result.total_kg)
    neutral = offset_kg >= footprint_kg
    shortfall_kg = max(0, footprint_kg - offset_kg)
    return {
        "guideline": dict(GUIDELINE),
        "factor_set_version": result.factor_set_version,
        "categories": [
            {
                "category": code,
                "name_zh": zh,
                "name_en": en,
                "emissions_kg": display_kg(by_category.get(code, Fraction(0))),
            }
            for code, zh, en in EVENT_CATEGORIES
        ],
        "total_kg": display_kg(result.total_kg),
        "footprint_kg": footprint_kg,
        "offset_kg": offset_kg,
        "shortfall_kg": shortfall_kg,
        "carbon_neutral": neutral,
        "certificate_ids": list(certificate_ids),
        "statement": _wording(footprint_kg, offset_kg, shortfall_kg, neutral),
    }


def _wording(footprint_kg: int, offset_kg: int, shortfall_kg: int, neutral: bool) -> dict[str, str]:
    emitted_zh = f"本次活动温室气体排放量为{footprint_kg}千克二氧化碳当量，"
    emitted_en = f"The event emitted {footprint_kg} kg CO2e; "
    if neutral:
        return {
            "zh": emitted_zh + f"已注销{offset_kg}千克碳信用予以抵消，实现碳中和。",
            "en": emitted_en + f"{offset_kg} kg of credits were retired to offset it. "
            "The event is carbon neutral.",
        }
    return {
        "zh": emitted_zh + f"已抵消{offset_kg}千克，尚差{shortfall_kg}千克，未实现碳中和。",
        "en": emitted_en + f"{offset_kg} kg are offset, {shortfall_kg} kg short. "
        "The event is not yet carbon neutral.",
    }
