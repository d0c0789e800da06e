"""Project locations as GeoJSON (RFC 7946) Points or Polygons, checked to lie in Sichuan's bounding box."""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

from offsets.errors import InvalidInput

MAX_POLYGON_POINTS = 10_000


@cache
def sichuan_bounding_box() -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """``(west, south, east, north)`` in degrees, from ``data/regions/extent.toml`` (sources there)."""
    text = resources.files("offsets.data.regions").joinpath("extent.toml").read_text(encoding="utf-8")
    box = tomllib.loads(text)["bounding_box"]
    return (
        Decimal(box["west_deg"]),
        Decimal(box["south_deg"]),
        Decimal(box["east_deg"]),
        Decimal(box["north_deg"]),
    )


def _position(value: Any, field: str) -> tuple[Decimal, Decimal]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise InvalidInput("a position is [longitude, latitude]", field=field)
    try:
        longitude, latitude = (Decimal(str(part)) for part in value[:2])
    except (InvalidOperation, TypeError) as exc:
        raise InvalidInput("coordinates must be numbers", field=field) from exc
    west, south, east, north = sichuan_bounding_box()
    if not (west <= longitude <= east and south <= latitude <= north):
        raise InvalidInput(
            f"[{longitude}, {latitude}] lies outside Sichuan ({west}–{east}°E, {south}–{north}°N)",
            field=field,
        )
    return longitude, latitude


def validate_location(location: Any) -> dict[str, Any]:
    """The location if it is a GeoJSON Point or Polygon wholly inside Sichuan's bounding box."""
    if not isinstance(location, dict) or location.get("type") not in ("Point", "Polygon"):
        raise InvalidInput("location must be a GeoJSON Point or Polygon", field="location.type")
    coordinates = location.get("coordinates")
    if location["type"] == "Point":
        _position(coordinates, "location.coordinates")
        return {"type": "Point", "coordinates": list(coordinates)}  # type: ignore[arg-type]
    if not isinstance(coordinates, list) or not coordinates:
        raise InvalidInput("a Polygon has at least one linear ring", field="location.coordinates")
    points = 0
    for ring_index, ring in enumerate(coordinates):
        field = f"location.coordinates.{ring_index}"
        if not isinstance(ring, list) or len(ring) < 4:
            raise InvalidInput("a linear ring has at least four positions", field=field)
        if ring[0] != ring[-1]:
            raise InvalidInput("a linear ring ends where it starts (RFC 7946 §3.1.6)", field=field)
        for point_index, position in enumerate(ring):
            _position(position, f"{field}.{point_index}")
        points += len(ring)
        if points > MAX_POLYGON_POINTS:
            raise InvalidInput(f"at most {MAX_POLYGON_POINTS} positions", field="location.coordinates")
    return {"type": "Polygon", "coordinates": coordinates}
