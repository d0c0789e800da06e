"""Sichuan's carbon-sink development zones and counties, with each county's former-poverty status."""

from __future__ import annotations

from typing import Any

from flask import request

from api.blueprint import api_blueprint as bp
from api.openapi import document
from api.schemas_offsets import CountiesQuery, CountyListSchema, ZoneListSchema, dump, load_query
from offsets import regions
from offsets.errors import InvalidInput

PUBLIC_DATA = {"Cache-Control": "public, max-age=3600"}


@bp.get("/regions/zones")
@document(
    "The five development zones (五大发展片) with their prefectures and focus project types",
    response="ZoneListSchema",
    tag="regions",
)
def list_zones() -> tuple[dict[str, Any], int, dict[str, str]]:
    data = regions.regions()
    items = [
        {
            "key": zone.key,
            "name_zh": zone.name_zh,
            "name_en": zone.name_en,
            "prefecture_codes": list(zone.prefecture_codes),
            "priority_types": list(zone.priority_types),
            "moderate_types": list(zone.moderate_types),
            "exploratory_types": list(zone.exploratory_types),
            "source": zone.source,
        }
        for zone in data.zones.values()
    ]
    body = dump(ZoneListSchema(), {"items": items, "project_types": dict(data.project_types)})
    return body, 200, PUBLIC_DATA


@bp.get("/regions/counties")
@document(
    "County-level divisions (of one prefecture, if given) with zone and former-poverty status",
    query="CountiesQuery",
    response="CountyListSchema",
    tag="regions",
)
def list_counties() -> tuple[dict[str, Any], int, dict[str, str]]:
    query = load_query(CountiesQuery(), request.args)
    data = regions.regions()
    if "prefecture" in query:
        try:
            counties = data.counties_of(query["prefecture"])
        except regions.UnknownRegion as exc:
            raise InvalidInput(exc.message, field="prefecture") from exc
    else:
        counties = data.counties
    items = []
    for county in counties:
        poverty = data.poverty.get(county.code)
        items.append(
            {
                "code": county.code,
                "name": county.name,
                "prefecture_code": county.prefecture_code,
                "prefecture": county.prefecture,
                "zone": county.zone,
                "source": county.source,
                "poverty": None
                if poverty is None
                else {
                    "category": poverty.category,
                    "deep_poverty": poverty.deep_poverty,
                    "exit_year": poverty.exit_year,
                    "exit_document": poverty.exit_document,
                    "source": poverty.source,
                    "source_year": poverty.source_year,
                    "note": poverty.note,
                },
            }
        )
    return dump(CountyListSchema(), {"items": items}), 200, PUBLIC_DATA
