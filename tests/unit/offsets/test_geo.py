"""Project locations: GeoJSON Points and Polygons inside Sichuan's bounding box, everything else refused."""

from __future__ import annotations

import pytest

from offsets.errors import InvalidInput
from offsets.geo import sichuan_bounding_box, validate_location

CHENGDU = [104.06, 30.67]
XICHANG = [102.27, 27.89]


def square(lon, lat, size=0.01):
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def test_the_box_comes_from_the_sourced_data_file():
    west, south, east, north = sichuan_bounding_box()
    assert (west, south) < (east, north)
    assert west < 104 < east
    assert south < 30 < north


@pytest.mark.parametrize(
    "location",
    [{"type": "Point", "coordinates": CHENGDU}, {"type": "Polygon", "coordinates": [square(*XICHANG)]}],
)
def test_points_and_polygons_in_sichuan_are_accepted(location):
    assert validate_location(location)["type"] == location["type"]


@pytest.mark.parametrize(
    ("location", "field"),
    [
        ({"type": "Point", "coordinates": [116.40, 39.90]}, "location.coordinates"),  # Beijing
        ({"type": "Point", "coordinates": [30.67, 104.06]}, "location.coordinates"),  # latitude first
        ({"type": "Point", "coordinates": ["x", 30]}, "location.coordinates"),
        ({"type": "LineString", "coordinates": [CHENGDU, XICHANG]}, "location.type"),
        ({"type": "Polygon", "coordinates": [square(*CHENGDU)[:-1]]}, "location.coordinates.0"),  # not closed
        ({"type": "Polygon", "coordinates": [[CHENGDU, CHENGDU, CHENGDU]]}, "location.coordinates.0"),
        ("30.67,104.06", "location.type"),
    ],
)
def test_locations_outside_sichuan_or_malformed_are_refused(location, field):
    with pytest.raises(InvalidInput) as refused:
        validate_location(location)
    assert refused.value.field.startswith(field)


def test_the_box_is_a_sanity_check_not_the_boundary():
    # Chongqing's centre lies inside Sichuan's bounding box; the county code is what places a project.
    assert validate_location({"type": "Point", "coordinates": [106.55, 29.56]})["type"] == "Point"
