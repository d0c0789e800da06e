"""The event's carbon-neutral statement: the guideline's categories, the rounding, and the verdict."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offsets.footprints import (
    EVENT_CATEGORIES,
    ElectricityUse,
    EventInputs,
    PersonalInputs,
    event,
    event_statement,
    packaged,
    personal,
)

V2 = packaged(2)


def an_event(kwh: str = "1000", waste_kg: str = "0.2"):
    # 1 000 kWh x 0.1564 = 156.4 kg, waste 0.2 kg measured: 156.6 kg, 157 kg rounded up.
    return event(
        EventInputs(
            attendees=300,
            days=1,
            venue_electricity=(ElectricityUse(Decimal(kwh), "sichuan"),),
            measured_kg={"waste": Decimal(waste_kg)},
        ),
        V2,
    )


def test_every_guideline_category_is_listed_in_order_with_zero_where_nothing_was_entered():
    statement = event_statement(an_event(), 157, ["CERT-1"])

    assert [item["category"] for item in statement["categories"]] == [code for code, _, _ in EVENT_CATEGORIES]
    by_code = {item["category"]: item for item in statement["categories"]}
    assert by_code["purchased_electricity_heat"]["emissions_kg"] == "156.4"
    assert by_code["waste"]["emissions_kg"] == "0.2"
    assert by_code["materials"]["emissions_kg"] == "0"
    assert by_code["transport"]["name_zh"] == "交通排放"
    assert by_code["transport"]["name_en"] == "Transport"


def test_the_footprint_is_rounded_up_and_an_offset_equal_to_it_is_neutral():
    statement = event_statement(an_event(), 157, ["CERT-1", "CERT-2"])

    assert statement["total_kg"] == "156.6"
    assert statement["footprint_kg"] == 157
    assert statement["carbon_neutral"] is True
    assert statement["shortfall_kg"] == 0
    assert statement["certificate_ids"] == ["CERT-1", "CERT-2"]
    assert statement["factor_set_version"] == 2
    assert "实现碳中和" in statement["statement"]["zh"]
    assert "157" in statement["statement"]["zh"]
    assert "carbon neutral" in statement["statement"]["en"]


def test_an_offset_one_kilogram_short_of_the_rounded_footprint_is_not_neutral():
    # 156.6 kg exactly is less than 157, but the footprint to cover is rounded up: 156 kg falls short.
    statement = event_statement(an_event(), 156, ["CERT-1"])

    assert statement["carbon_neutral"] is False
    assert statement["shortfall_kg"] == 1
    assert "未实现碳中和" in statement["statement"]["zh"]
    assert "1 kg short" in statement["statement"]["en"]


def test_the_statement_names_the_2019_guideline_in_chinese_and_english():
    statement = event_statement(an_event(), 200, [])

    assert statement["guideline"]["zh"] == "生态环境部《大型活动碳中和实施指南（试行）》（2019年）"
    assert "2019" in statement["guideline"]["en"]


def test_a_person_footprint_is_not_an_event_statement():
    with pytest.raises(AssertionError):
        event_statement(personal(PersonalInputs(electricity_kwh=Decimal(1)), V2), 1, [])


@given(
    kwh=st.decimals(min_value=0, max_value=10**6, places=3),
    offset=st.integers(min_value=0, max_value=10**6),
)
def test_neutral_exactly_when_the_offset_covers_the_rounded_up_footprint(kwh, offset):
    result = an_event(kwh=str(kwh))

    statement = event_statement(result, offset, ["C"])

    assert statement["footprint_kg"] >= result.total_kg
    assert statement["carbon_neutral"] == (offset >= result.total_kg)
    assert statement["shortfall_kg"] == max(0, statement["footprint_kg"] - offset)


def test_the_statement_reads_the_footprint_the_offset_and_the_shortfall_each_in_its_place():
    over = event_statement(an_event(), 200, ["CERT-1"])["statement"]
    assert over == {
        "zh": "本次活动温室气体排放量为157千克二氧化碳当量，已注销200千克碳信用予以抵消，实现碳中和。",
        "en": "The event emitted 157 kg CO2e; 200 kg of credits were retired to offset it. "
        "The event is carbon neutral.",
    }
    short = event_statement(an_event(), 150, ["CERT-1"])["statement"]
    assert short == {
        "zh": "本次活动温室气体排放量为157千克二氧化碳当量，已抵消150千克，尚差7千克，未实现碳中和。",
        "en": "The event emitted 157 kg CO2e; 150 kg are offset, 7 kg short. "
        "The event is not yet carbon neutral.",
    }
