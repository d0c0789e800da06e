"""The region reference data: Sichuan's divisions, the plan's five zones, the former poverty counties.

The expected figures are those of the cited sources (see the ``source`` of each row): 民政部 2023 codes give
21 prefecture-level and 183 county-level divisions; the provincial exit notices name 66 national and 22
provincial poverty counties (88), in five batches; the 原深度贫困县 list has 45.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from offsets import regions
from offsets.regions import AmbiguousCounty, RegionDataError, UnknownRegion

DATA = Path(regions.__file__).parent / "data" / "regions"

POLICY_ZONES = {
    "川西南": ["凉山彝族自治州", "攀枝花市"],
    "川西北": ["阿坝藏族羌族自治州", "甘孜藏族自治州"],
    "川东北": ["巴中市", "广元市", "达州市", "南充市", "广安市"],
    "川南": ["宜宾市", "泸州市", "乐山市", "自贡市", "内江市"],
    "川中": ["成都市", "绵阳市", "雅安市", "眉山市", "遂宁市", "德阳市", "资阳市"],
}


@pytest.fixture(scope="module")
def data() -> regions.Regions:
    return regions.regions()


def test_sichuan_has_21_prefectures_and_183_counties(data):
    assert len(data.prefectures) == 21
    assert len(data.counties) == 183
    kinds = Counter("自治县" if d.name.endswith("自治县") else d.name[-1] for d in data.counties)
    assert kinds == {"区": 55, "县": 105, "自治县": 4, "市": 19}


def test_every_row_carries_its_source_and_year(data):
    for d in data.divisions.values():
        assert "民政部" in d.source
        assert "发展布局" in d.source
        assert d.source_year == 2023
    for p in data.poverty.values():
        assert p.source
        assert 2017 <= p.source_year <= 2020
    for z in data.zones.values():
        assert z.source.startswith("四川省林业和草原局关于大力推进林草碳汇高质量发展的意见, 二、发展布局")


@pytest.mark.parametrize(("zone", "prefectures"), POLICY_ZONES.items())
def test_each_zone_has_the_prefectures_the_policy_lists(data, zone, prefectures):
    z = data.zone(zone)
    assert [data.division(c).name for c in z.prefecture_codes] == prefectures
    assert sorted(p.name for p in data.prefectures if p.zone == zone) == sorted(prefectures)
    for code in z.prefecture_codes:
        assert all(c.zone == zone for c in data.counties_of(code))


def test_the_two_shizhong_districts_are_told_apart_by_code(data):
    assert {d.code for d in data.counties if d.name == "市中区"} == {"511002", "511102"}
    assert regions.division("511002").prefecture == "内江市"
    assert regions.division("511102").prefecture == "乐山市"
    assert regions.find_county("市中区", "内江市").code == "511002"
    assert regions.find_county("市中区", "511100").code == "511102"
    assert regions.find_county("市中区", "乐山").code == "511102"
    with pytest.raises(AmbiguousCounty) as caught:
        regions.find_county("市中区")
    assert {c.code for c in caught.value.candidates} == {"511002", "511102"}


def test_huili_is_a_city_since_2021(data):
    huili = regions.division("513402")
    assert (huili.name, huili.level, huili.parent_code) == ("会理市", "county", "513400")
    assert regions.zone_of("513402").key == "川西南"
    assert "513425" not in data.divisions  # the old 会理县 code
    assert regions.find_county("会理市").code == "513402"


def test_lookups(data):
    assert [c.code for c in regions.counties_of("510400")] == [
        "510402",
        "510403",
        "510411",
        "510421",
        "510422",
    ]
    assert regions.zone_of("510100").name_zh == "川中发展片"
    assert regions.zone_of("513301").key == "川西北"
    with pytest.raises(UnknownRegion):
        regions.division("519999")
    with pytest.raises(UnknownRegion):
        regions.counties_of("510104")  # a district, not a prefecture
    with pytest.raises(UnknownRegion):
        regions.find_county("朝阳区")


def test_zone_focus_follows_the_policy():
    assert regions.zone_focus("川西南", "afforestation") == "priority"
    assert regions.zone_focus("川西南", "forest_management") == "priority"
    assert regions.zone_focus("川西南", "grassland") == "moderate"
    assert regions.zone_focus("川西北", "wetland") == "moderate"
    assert regions.zone_focus("川东北", "forest_management") == "priority"
    assert regions.zone_focus("川东北", "bamboo_management") == "moderate"
    assert regions.zone_focus("川南", "bamboo_afforestation") == "priority"
    assert regions.zone_focus("川南", "forest_management") == "moderate"
    assert regions.zone_focus("川中", "forest_management") == "priority"
    assert regions.zone_focus("川中", "urban_forest") == "exploratory"
    assert regions.zone_focus("川中发展片", "wetland") is None
    with pytest.raises(UnknownRegion):
        regions.zone_focus("川中", "mangrove")
    with pytest.raises(UnknownRegion):
        regions.zone_focus("川北", "afforestation")


def test_targets_and_incentives(data):
    assert (data.targets.by_2022_mu, data.targets.by_2025_mu) == (15_000_000, 30_000_000)
    assert "一、总体要求（三）" in data.targets.source
    i = data.incentives
    assert (i.registered_award_min_yuan, i.registered_award_max_yuan) == (500_000, 1_000_000)
    assert (i.eco_industry_min_contiguous_mu, i.eco_industry_max_share_percent, i.eco_industry_max_mu) == (
        500,
        3,
        50,
    )
    assert "四、保障措施（二）" in i.source


def test_88_poverty_counties_66_national_22_provincial_45_deep(data):
    statuses = list(data.poverty.values())
    assert len(statuses) == 88
    assert Counter(p.category for p in statuses) == {"national": 66, "provincial": 22}
    assert sum(p.deep_poverty is True for p in statuses) == 45
    assert all(p.deep_poverty is not None for p in statuses)


def test_the_exit_batches(data):
    by_year = Counter(p.exit_year for p in data.poverty.values())
    assert by_year == {2017: 5, 2018: 15, 2019: 30, 2020: 38}
    batch_2019 = [p for p in data.poverty.values() if "川府函〔2020〕33号" in p.exit_document]
    assert len(batch_2019) == 31
    assert Counter(p.category for p in batch_2019) == {"national": 30, "provincial": 1}
    assert all(p.exit_year is not None and p.exit_document for p in data.poverty.values())


def test_poverty_status_by_code():
    mabian = regions.poverty_status("511133")
    assert mabian is not None
    assert (mabian.name, mabian.category, mabian.deep_poverty, mabian.exit_year) == (
        "马边彝族自治县",
        "national",
        True,
        2020,
    )
    ebian = regions.poverty_status("511132")
    assert ebian is not None
    assert ebian.category == "provincial"
    zhaojue = regions.poverty_status("513431")
    assert zhaojue is not None
    assert zhaojue.exit_year == 2020
    assert "普格县等7个县" in zhaojue.exit_document
    assert regions.poverty_status("510104") is None  # 锦江区 was never a poverty county
    assert regions.poverty_status("511002") is None  # 内江 市中区
    with pytest.raises(UnknownRegion):
        regions.poverty_status("519999")


def test_every_poverty_county_is_a_division_in_its_named_prefecture(data):
    for p in data.poverty.values():
        county = data.division(p.code)
        assert county.level == "county"
        assert (county.name, county.prefecture) == (p.name, p.prefecture)


def test_the_packaged_files_load_through_the_path_parameters(data):
    again = regions.load(DATA / "sichuan_divisions.csv", DATA / "zones.toml", DATA / "poverty_counties.csv")
    assert again == data


# --- a corrupted copy is refused ------------------------------------------------------------------------


def _rows(name: str) -> tuple[list[str], list[list[str]]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _load_divisions(path: Path) -> regions.Regions:
    return regions.load(divisions_path=path)


def _corrupt_divisions(tmp_path: Path, change) -> Path:
    header, rows = _rows("sichuan_divisions.csv")
    change(header, rows)
    return _write(tmp_path / "sichuan_divisions.csv", header, rows)


def _set(column: str, code: str, value: str):
    def change(header, rows):
        row = next(r for r in rows if r[0] == code)
        row[header.index(column)] = value

    return change


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (_set("code", "510104", "5101040"), "6-digit"),
        (_set("code", "510104", "500104"), "6-digit"),
        (_set("parent_code", "511102", "519900"), "must have parent"),
        (_set("zone", "510100", "川北"), "is not one of"),
        (_set("zone", "510104", "川南"), "disagree"),
        (_set("level", "510100", "county"), "must have parent"),
        (_set("source", "513402", ""), "source is empty"),
        (lambda header, rows: rows.append(list(rows[5])), "duplicate code"),
        (lambda header, rows: rows.remove(next(r for r in rows if r[0] == "512000")), "prefectures"),
        (
            lambda header, rows: rows.append(
                ["519900", "新州", "prefecture", "510000", "新州", "川中", "x", "2023"]
            ),
            "22 prefectures",
        ),
    ],
)
def test_a_corrupted_divisions_file_is_refused(tmp_path, change, complaint):
    path = _corrupt_divisions(tmp_path, change)
    with pytest.raises(RegionDataError, match=complaint):
        _load_divisions(path)


def test_a_prefecture_in_no_zone_or_two_zones_is_refused(tmp_path):
    text = (DATA / "zones.toml").read_text(encoding="utf-8")
    twice = text.replace(
        'prefecture_codes = ["513200", "513300"]', 'prefecture_codes = ["513200", "513400"]', 1
    )
    twice = twice.replace(
        '"阿坝藏族羌族自治州", "甘孜藏族自治州"]', '"阿坝藏族羌族自治州", "凉山彝族自治州"]', 1
    )
    (tmp_path / "zones.toml").write_text(twice, encoding="utf-8")
    with pytest.raises(RegionDataError, match="both 川西南 and 川西北"):
        regions.load(zones_path=tmp_path / "zones.toml")

    renamed = text.replace('key = "川中"', 'key = "川北"', 1)
    (tmp_path / "zones.toml").write_text(renamed, encoding="utf-8")
    with pytest.raises(RegionDataError, match="is not one of"):
        regions.load(zones_path=tmp_path / "zones.toml")


def test_a_poverty_county_missing_from_the_divisions_is_refused(tmp_path):
    header, rows = _rows("poverty_counties.csv")
    rows[0][0] = "513425"  # 会理县's code before 2021: not a division any more
    path = _write(tmp_path / "poverty_counties.csv", header, rows)
    with pytest.raises(RegionDataError, match="513425 is not a county-level division"):
        regions.load(poverty_path=path)


def test_a_poverty_row_with_a_bad_category_is_refused(tmp_path):
    header, rows = _rows("poverty_counties.csv")
    rows[3][header.index("category")] = "county"
    path = _write(tmp_path / "poverty_counties.csv", header, rows)
    with pytest.raises(RegionDataError, match="neither national nor provincial"):
        regions.load(poverty_path=path)


@pytest.mark.parametrize("column", ["code", "parent_code"])
def test_a_bad_code_is_named_by_its_file_line_and_column(tmp_path, column):
    header, rows = _rows("sichuan_divisions.csv")
    index = next(i for i, r in enumerate(rows) if r[0] == "511102")
    rows[index][header.index(column)] = "5x"
    path = _write(tmp_path / "sichuan_divisions.csv", header, rows)
    with pytest.raises(RegionDataError) as refused:
        _load_divisions(path)
    # The header is line 1, so the row at index i is on line i + 2.
    assert str(refused.value) == f"{path}:{index + 2}: {column} '5x' is not a 6-digit Sichuan code (51xxxx)"


def test_a_county_not_found_or_shared_says_which_and_where():
    with pytest.raises(UnknownRegion) as unknown:
        regions.find_county("朝阳区", "凉山")
    assert (unknown.value.field, unknown.value.message) == (
        "name",
        "no county-level division named '朝阳区' in 凉山",
    )
    assert str(unknown.value) == "name: no county-level division named '朝阳区' in 凉山"
    with pytest.raises(UnknownRegion) as anywhere:
        regions.find_county("朝阳区")
    assert anywhere.value.message == "no county-level division named '朝阳区'"
    with pytest.raises(AmbiguousCounty) as shared:
        regions.find_county("市中区")
    assert str(shared.value) == (
        "'市中区' names 2 divisions (511002 内江市市中区, 511102 乐山市市中区); give the prefecture"
    )
    assert (shared.value.field, shared.value.name) == ("name", "市中区")


@pytest.mark.parametrize(
    ("column", "value", "complaint"),
    [
        ("name", "名" * 51, "name is longer than 50 characters"),
        ("prefecture", "州" * 51, "prefecture is longer than 50 characters"),
        ("source", "", "source is empty"),
        ("source_year", "1899", "source_year '1899' is not a year"),
    ],
)
def test_a_bad_division_cell_is_named_by_its_file_line_and_column(tmp_path, column, value, complaint):
    header, rows = _rows("sichuan_divisions.csv")
    index = next(i for i, r in enumerate(rows) if r[0] == "513402")
    rows[index][header.index(column)] = value
    path = _write(tmp_path / "sichuan_divisions.csv", header, rows)
    with pytest.raises(RegionDataError) as refused:
        _load_divisions(path)
    assert str(refused.value) == f"{path}:{index + 2}: {complaint}"


def test_a_name_of_exactly_the_limit_is_accepted(tmp_path):
    header, rows = _rows("sichuan_divisions.csv")
    row = next(r for r in rows if r[0] == "513402")
    row[header.index("name")] = "名" * 50
    assert _load_divisions(_write(tmp_path / "d.csv", header, rows)).divisions["513402"].name == "名" * 50


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("by_2022_mu = 15_000_000", "by_2022_mu = 0", "targets: by_2022_mu must be a positive integer"),
        ("by_2022_mu = 15_000_000", "by_2022_mu = true", "targets: by_2022_mu must be a positive integer"),
        ('key = "川中"', 'key = ""', "zone: key must be a non-empty string"),
        (
            'prefecture_codes = ["513200", "513300"]',
            "prefecture_codes = [513200]",
            "川西北: prefecture_codes must be a list of strings",
        ),
    ],
)
def test_a_bad_zones_value_is_named_by_its_file_and_table(tmp_path, old, new, complaint):
    text = (DATA / "zones.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "zones.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RegionDataError) as refused:
        regions.load(zones_path=path)
    assert str(refused.value) == f"{path}: {complaint}"


def test_a_target_of_one_mu_is_accepted(tmp_path):
    text = (DATA / "zones.toml").read_text(encoding="utf-8")
    path = tmp_path / "zones.toml"
    path.write_text(text.replace("by_2022_mu = 15_000_000", "by_2022_mu = 1", 1), encoding="utf-8")
    assert regions.load(zones_path=path).targets.by_2022_mu == 1
