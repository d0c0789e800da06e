"""The parameter data loader: the packaged files validate; malformed rows are refused with file and line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from methodology_support import FIXTURE, fixture_species_rows, with_data, write_species_csv

from offsets.methodologies import get
from offsets.methodologies.accounting import fixed_leakage, uncertainty_rule
from offsets.methodologies.parameters import (
    DATA_FILES,
    MAX_FIELD_CHARS,
    DiscountTableRule,
    ParameterDataError,
    load,
    packaged,
)

PARAMETERS = Path(__file__).resolve().parents[4] / "offsets" / "data" / "parameters"


def test_the_packaged_files_load_and_every_row_has_a_source_and_a_year():
    data = packaged()
    for row in (*data.tree_defaults, *data.ecosystem_defaults):
        assert row.methodology_or_source
        assert 1900 < row.source_year < 2100
        assert row.citation.startswith(row.methodology_or_source)
    assert set(DATA_FILES) == {p.name for p in PARAMETERS.iterdir() if p.suffix in {".csv", ".toml"}}


def test_comment_lines_are_skipped_and_every_data_line_is_a_row():
    text = (PARAMETERS / "tree_species.csv").read_text(encoding="utf-8")
    data_lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert len(packaged().tree_defaults) == len(data_lines) - 1  # less the header


def test_the_rules_of_every_methodology_in_the_file_are_read():
    rules = packaged().rules
    for methodology_id in (
        "AR-CM-001-V01",
        "AR-CM-002-V01",
        "AR-CM-003-V01",
        "AR-CM-005-V01",
        "CCER-14-001-V01",
    ):
        assert methodology_id in rules
    ar_cm_001 = rules["AR-CM-001-V01"]
    assert ar_cm_001.leakage.found
    assert fixed_leakage(ar_cm_001) is not None


def test_a_species_is_found_by_code_or_by_name(tmp_path):
    data = load(tree_species=write_species_csv(tmp_path / "t.csv", fixture_species_rows()))
    assert data.species_codes("test_fir") == ("test_fir",)
    assert data.species_codes("测试杉") == ("test_fir",)
    assert data.species_codes("杉木") == ()
    (svd,) = data.defaults("test_fir", "basic_wood_density")
    assert svd.value == Decimal("0.4")
    assert svd.citation == f"{FIXTURE}, test table (2024); t.csv row test_fir/basic_wood_density"
    assert data.defaults("no_such_species", "basic_wood_density") == ()


def test_a_species_is_found_by_its_english_or_latin_name(tmp_path):
    named = [
        row(species_code="fir", species_zh="杉木", species_en="Chinese fir", latin="Cunninghamia lanceolata"),
        row(species_code="oak", species_zh="栎类", species_en="oak"),
    ]
    data = load(tree_species=write_species_csv(tmp_path / "t.csv", named))
    assert data.species_codes("Chinese fir") == ("fir",)
    assert data.species_codes("Cunninghamia lanceolata") == ("fir",)
    assert data.species_codes("oak") == ("oak",)
    assert data.species_codes("") == ()  # oak has no Latin name: an empty one names nothing


def row(**overrides: str) -> dict[str, str]:
    base = {
        "species_code": "x",
        "species_zh": "某树",
        "parameter": "carbon_fraction",
        "value": "0.5",
        "unit": "t C/t d.m.",
        "methodology_or_source": FIXTURE,
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([row(value="0.5x")], "not a plain decimal"),
        ([row(value="")], "value is empty"),
        ([row(methodology_or_source="")], "methodology_or_source is empty"),
        ([row(source_year="20xx")], "not a year"),
        ([row(source_year="")], "not a year"),
        ([row(value="47")], "outside"),
        ([row(parameter="bef", value="0.8", unit="dimensionless")], "outside"),
        ([row(value="0")], "outside"),  # a carbon fraction must be greater than 0
        ([row(note="n" * (MAX_FIELD_CHARS + 1))], "note is longer than 2000 characters"),
        ([row(unit="kg")], "unit 'kg' of carbon_fraction"),
        ([row(parameter="Carbon Fraction")], "snake_case"),
        ([row(), row()], "duplicate row"),
        ([row(), row(parameter="bef", value="1.2", unit="1", species_zh="别名")], "named"),
    ],
)
def test_a_malformed_species_row_is_refused_with_its_line(tmp_path, rows, message):
    path = write_species_csv(tmp_path / "tree_species.csv", rows)
    with pytest.raises(ParameterDataError, match=message) as error:
        load(tree_species=path)
    # A comment line and the header come first; the last row is the one refused.
    assert str(error.value).startswith(f"tree_species.csv:{2 + len(rows)}: ")


def test_a_row_at_a_limit_is_accepted(tmp_path):
    rows = [
        row(species_code="a", species_zh="甲", parameter="bef", value="1", unit="dimensionless"),
        row(species_code="b", species_zh="乙", note="n" * MAX_FIELD_CHARS),
        row(species_code="c", species_zh="丙", value="1"),  # a carbon fraction of exactly 1
    ]
    data = load(tree_species=write_species_csv(tmp_path / "t.csv", rows))
    assert [(r.parameter, r.value) for r in data.tree_defaults] == [
        ("bef", 1),
        ("carbon_fraction", Decimal("0.5")),
        ("carbon_fraction", 1),
    ]


def test_a_refused_row_is_named_by_its_line_in_the_file(tmp_path):
    """Comment lines, blank lines and a note quoted over two lines all count: the line is the editor's."""
    good = write_species_csv(tmp_path / "good.csv", [row(note="first line\nsecond line")])
    lines = good.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4  # the comment, the header, and the row over two lines
    [default] = load(tree_species=good).tree_defaults
    assert default.note == "first line\nsecond line"
    bad = write_species_csv(tmp_path / "bad.csv", [row(species_code="y", value="0.5x")])
    text = "\n".join(
        [*lines, "", "# a comment between rows", "", bad.read_text(encoding="utf-8").splitlines()[2]]
    )
    path = tmp_path / "tree_species.csv"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ParameterDataError) as error:
        load(tree_species=path)
    assert str(error.value).startswith("tree_species.csv:8: value '0.5x'")


def test_a_wrong_header_is_refused(tmp_path):
    path = tmp_path / "tree_species.csv"
    path.write_text("# c\nspecies,value\nx,1\n", encoding="utf-8")
    with pytest.raises(ParameterDataError, match=r"header must be .*, got species,value$"):
        load(tree_species=path)
    path.write_text("# only a comment\n", encoding="utf-8")
    with pytest.raises(ParameterDataError, match=r"got nothing$"):
        load(tree_species=path)


def test_units_are_matched_without_their_comments_and_percentages_converted(tmp_path):
    rows = [
        row(species_code="a", species_zh="甲", unit="t C / t d.m. (炭素含有率)"),
        row(species_code="b", species_zh="乙", value="47", unit="%"),
        row(species_code="c", species_zh="丙", parameter="basic_wood_density", value="0.4", unit="g/cm³"),
        row(species_code="d", species_zh="丁", parameter="bcef_s", value="0.9", unit="t AGB d.m. per m3"),
    ]
    data = load(tree_species=write_species_csv(tmp_path / "t.csv", rows))
    assert [r.value for r in data.tree_defaults] == [
        Decimal("0.5"),
        Decimal("0.47"),
        Decimal("0.4"),
        Decimal("0.9"),
    ]
    assert data.tree_defaults[1].printed == "47 %"
    # A parameter the calculators use takes its kind's unit once converted.
    assert [r.unit for r in data.tree_defaults[:3]] == ["t C/t d.m.", "t C/t d.m.", "t d.m./m3"]
    assert (
        data.tree_defaults[3].unit == "t AGB d.m. per m3"
    )  # a parameter the calculators do not use: kept as is


def rules_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text('[research]\ndate = "2026-11-24"\n' + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[methodologies."X"]\nname = "x"\n[methodologies."X".uncertainty]\nfound = "no"\n', "true or false"),
        (
            '[methodologies."X"]\nname = "x"\n[methodologies."X".leakage]\nfound = true\nsection = "§1"\n',
            "source",
        ),
        (
            '[methodologies."X"]\nname = "x"\nsource = "s"\n[methodologies."X".leakage]\nfound = true\n',
            "section",
        ),
        ('[methodologies."X"]\nyear = "2013"\n', "name_zh or name"),
        ('[methodologies."X"]\nname = "x"\nyear = "13"\n', "not a year"),
        ('[methodologies."X"]\nname = "x"\nproject_type = "forest"\n', "project_type"),
        (
            '[methodologies."X"]\nname = "x"\n[[methodologies."X".rules]]\nid = "r"\n',
            "source must be a non-empty string",
        ),
        (
            '[methodologies."X"]\nname = "x"\n[[methodologies."X".rules]]\nid = "r"\nsource = "s"\n'
            'value = "about 3"\nunit = "years"\n',
            "plain decimal",
        ),
        (
            '[methodologies."X"]\nname = "x"\n[methodologies."X".uncertainty]\nfound = true\nsource = "s"\n'
            'section = "§"\nconfidence_level = "90%"\n'
            'table = [{uncertainty = "U <= 10%", discount_pct_of_U = "0"}, '
            '{uncertainty = "12% < U <= 15%", discount_pct_of_U = "25"}, '
            '{uncertainty = "U > 15%", discount_pct_of_U = "100"}]\n',
            "without gaps",
        ),
        (
            '[methodologies."X"]\nname = "x"\n[methodologies."X".uncertainty]\nfound = true\nsource = "s"\n'
            'section = "§"\nconfidence_levels = ["90%", "95%"]\nallowable_uncertainty = ["20%"]\n',
            "same length",
        ),
    ],
)
def test_a_malformed_rule_is_refused(tmp_path, body, message):
    with pytest.raises(ParameterDataError, match=message):
        load(methodology_rules=rules_file(tmp_path, body))


def test_a_discount_table_is_read_band_by_band(tmp_path):
    body = (
        '[methodologies."X"]\nname = "x"\n[methodologies."X".uncertainty]\nfound = true\nsource = "s"\n'
        'section = "§"\nconfidence_level = "90%"\n'
        'table = [{uncertainty = "U <= 10%", discount_pct_of_U = "0"}, '
        '{uncertainty = "10% < U <= 15%", discount_pct_of_U = "25"}, '
        '{uncertainty = "U > 15%", discount_pct_of_U = "100"}]\n'
    )
    rules = load(methodology_rules=rules_file(tmp_path, body)).rules["X"]
    found = uncertainty_rule((rules,))
    assert found is not None
    rule = found[1]
    assert isinstance(rule, DiscountTableRule)
    assert rule.confidence_percent == 90
    assert [rule.discount_percent_of_u(Decimal(u)) for u in ("0", "10", "10.5", "15", "15.01", "100")] == [
        0,
        0,
        25,
        25,
        100,
        100,
    ]


def test_a_leakage_rule_other_than_zero_cannot_be_applied(tmp_path):
    body = (
        '[methodologies."X"]\nname = "x"\n[methodologies."X".leakage]\nfound = true\nsource = "s"\n'
        'section = "§"\nvalue = "15%"\n'
    )
    rules = load(methodology_rules=rules_file(tmp_path, body)).rules["X"]
    with pytest.raises(ParameterDataError, match="not a fixed zero"):
        fixed_leakage(rules)


def test_checking_the_rules_finds_a_leakage_rule_the_calculator_cannot_apply(tmp_path):
    """``check_rules``, which the tests run over the packaged data, refuses it before a calculation would."""
    body = (
        '[methodologies."AR-CM-003-V01"]\nname = "x"\n[methodologies."AR-CM-003-V01".leakage]\nfound = true\n'
        'source = "s"\nsection = "§"\nvalue = "15%"\n'
    )
    data = load(methodology_rules=rules_file(tmp_path, body))
    with pytest.raises(ParameterDataError, match="not a fixed zero"):
        with_data(get("AR-CM-003-V01"), data).check_rules()


def test_worked_examples_keep_approximate_outputs_and_reject_non_numbers(tmp_path):
    path = tmp_path / "examples.toml"
    path.write_text(
        'status = "partial"\n[[examples]]\nid = "e"\ncitation = "c"\n'
        'inputs = { stem_volume_m3_per_ha = "337" }\n'
        'published_outputs = { co2_t_per_ha = "約304", carbon_t = "83" }\n',
        encoding="utf-8",
    )
    (example,) = load(worked_examples=path).examples
    assert example.published_outputs["co2_t_per_ha"] == 304
    assert example.approximate == frozenset({"co2_t_per_ha"})
    assert example.kind == "stock_change_formula"
    path.write_text(
        '[[examples]]\nid = "e"\ncitation = "c"\ninputs = { v = "3 m3" }\npublished_outputs = { c = "1" }\n',
        encoding="utf-8",
    )
    with pytest.raises(ParameterDataError, match="plain decimal"):
        load(worked_examples=path)


def test_a_worked_example_is_read_field_by_field(tmp_path):
    path = tmp_path / "examples.toml"
    path.write_text(
        'status = "complete"\n'
        '[[examples]]\nid = "a"\nkind = "uncertainty_discount"\ncitation = "c"\nurl = "https://e.org/a"\n'
        'copy_read = "a copy"\nmethodology = "AR-CM-001-V01"\nspecies_zh = "杉木"\nrounding = "2 places"\n'
        'inputs = { u_pct = "12.5" }\npublished_outputs = { kept = " 0.9 ", about = "~3" }\n'
        'units = { u_pct = "%" }\n'
        '[[examples]]\nid = "b"\ncitation = "d"\ncopy_read = "read from a printed copy"\n'
        'inputs = { v = "1" }\npublished_outputs = { c = "2" }\n',
        encoding="utf-8",
    )
    data = load(worked_examples=path)
    assert data.examples_status == "complete"
    first, second = data.examples
    assert (first.id, first.kind, first.citation, first.url) == (
        "a",
        "uncertainty_discount",
        "c",
        "https://e.org/a",
    )
    assert (first.methodology, first.species_zh, first.rounding) == ("AR-CM-001-V01", "杉木", "2 places")
    assert dict(first.inputs) == {"u_pct": Decimal("12.5")}
    assert dict(first.published_outputs) == {"kept": Decimal("0.9"), "about": Decimal(3)}
    assert dict(first.printed_outputs) == {"kept": "0.9", "about": "3"}
    assert (first.approximate, dict(first.units)) == (frozenset({"about"}), {"u_pct": "%"})
    assert (second.kind, second.url, second.methodology, second.rounding) == (
        "stock_change_formula",
        "read from a printed copy",
        "",
        "",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("status = 1\n", "examples.toml: status must be a string"),
        ("examples = 1\n", "examples.toml: examples must be an array of tables"),
        ("examples = [1]\n", "examples.toml: examples[0] must be a table"),
        ('[[examples]]\nid = ""\n', "examples.toml: examples[0]: id must be a non-empty string"),
        (
            '[[examples]]\nid = "e"\ncitation = "c"\ninputs = { v = "1" }\npublished_outputs = { c = "1" }\n'
            '[[examples]]\nid = "e"\n',
            "examples.toml: examples[1]: duplicate id e",
        ),
        (
            '[[examples]]\nid = "e"\ninputs = {}\n',
            "examples.toml: examples[0].inputs must be a non-empty table of decimal strings",
        ),
        (
            '[[examples]]\nid = "e"\ninputs = { V = "1" }\n',
            "examples.toml: examples[0].inputs: 'V' is not a snake_case name",
        ),
        (
            '[[examples]]\nid = "e"\ninputs = { v = "~1" }\n',  # only outputs may be approximate
            "examples.toml: examples[0].inputs: v '~1' must be a plain decimal number as a string",
        ),
        (
            '[[examples]]\nid = "e"\ninputs = { v = "1" }\npublished_outputs = { c = "1" }\n'
            "units = { v = 1 }\n",
            "examples.toml: examples[0].units must be a table of strings",
        ),
        (
            '[[examples]]\nid = "e"\ninputs = { v = "1" }\npublished_outputs = { c = "1" }\n',
            "examples.toml: examples[0]: citation must be a non-empty string",
        ),
    ],
)
def test_a_malformed_worked_example_is_refused_naming_where_it_is(tmp_path, text, message):
    path = tmp_path / "examples.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterDataError) as error:
        load(worked_examples=path)
    assert str(error.value) == message


# --- where in methodology_rules.toml a refused value is --------------------------------------------------

X = '[methodologies."X"]\nname = "x"\n'
UNCERTAINTY = '[methodologies."X".uncertainty]\nfound = true\nsource = "s"\nsection = "§"\n'
RULE = '[[methodologies."X".rules]]\nid = "r"\nsource = "s"\n'
BANDS = (
    'table = [{uncertainty = "U <= 10%", discount_pct_of_U = "0"}, '
    '{uncertainty = "U > 10%", discount_pct_of_U = "100"}]\n'
)
AT = 'rules.toml: methodologies."X"'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", 'rules.toml: no [methodologies."<id>"] tables'),
        ('[methodologies."X"]\nname_zh = ""\n', f"{AT}: name_zh must be a non-empty string"),
        ('[methodologies."X"]\nname = " "\n', f"{AT}: name must be a non-empty string"),
        (X + "year = true\n", f"{AT}: year True is not a year"),
        (X + RULE + RULE, f"{AT}.rules[1]: duplicate rule id r"),
        (
            X + '[[methodologies."X".rules]]\nid = "r"\nsource = ""\n',
            f"{AT}.rules[0]: source must be a non-empty string",
        ),
        (X + RULE + 'section = ""\n', f"{AT}.rules[0]: section must be a non-empty string"),
        (
            X + '[methodologies."X".leakage]\nfound = true\nsource = "s"\nsection = "§"\nvalue = "lots"\n',
            f"{AT}.leakage: value 'lots' must be a decimal or a percentage string",
        ),
        (X + UNCERTAINTY + "table = []\n", f"{AT}.uncertainty: table must be a non-empty array of bands"),
        (
            X
            + UNCERTAINTY
            + 'confidence_level = "90%"\ntable = [{uncertainty = 10, discount_pct_of_U = "0"}]\n',
            f'{AT}.uncertainty.table[0]: uncertainty 10 is not a band such as "10% < U <= 15%"',
        ),
        (
            X
            + UNCERTAINTY
            + 'confidence_level = "90%"\ntable = [{uncertainty = "U > 0%", discount_pct_of_U = "101"}]\n',
            f"{AT}.uncertainty.table[0]: discount_pct_of_U 101 is not a percentage",
        ),
        (
            X + UNCERTAINTY + 'confidence_level = "90%"\ntable = [{uncertainty = "U > 0%"}]\n',
            f"{AT}.uncertainty.table[0]: discount_pct_of_U None must be a plain decimal number as a string",
        ),
        (
            X + UNCERTAINTY + 'confidence_level = "ninety"\n' + BANDS,
            f"{AT}.uncertainty.confidence_level: 'ninety' is not a percentage such as \"20%\"",
        ),
        (
            X + UNCERTAINTY + 'confidence_levels = "90%"\nallowable_uncertainty = "20%"\n',
            f"{AT}.uncertainty: confidence_levels and allowable_uncertainty must be lists of the same length",
        ),
        # Any one of the allowable-excess keys makes the rule of that form, which then needs the others.
        (
            X + UNCERTAINTY + 'allowable_uncertainty = ["20%"]\n',
            f"{AT}.uncertainty: confidence_levels and allowable_uncertainty must be lists of the same length",
        ),
        (
            X + UNCERTAINTY + 'confidence_levels = ["90%"]\n',
            f"{AT}.uncertainty: confidence_levels and allowable_uncertainty must be lists of the same length",
        ),
        (
            X + UNCERTAINTY + 'confidence_levels = ["x"]\nallowable_uncertainty = ["20%"]\n',
            f"{AT}.uncertainty.confidence_levels: 'x' is not a percentage such as \"20%\"",
        ),
        (
            X + UNCERTAINTY + 'confidence_levels = ["90%"]\nallowable_uncertainty = ["y"]\n',
            f"{AT}.uncertainty.allowable: 'y' is not a percentage such as \"20%\"",
        ),
    ],
)
def test_a_malformed_rule_is_refused_naming_where_it_is(tmp_path, body, message):
    with pytest.raises(ParameterDataError) as error:
        load(methodology_rules=rules_file(tmp_path, body))
    assert str(error.value) == message


def test_the_research_date_must_be_a_date(tmp_path):
    path = tmp_path / "rules.toml"
    for research in ('[research]\ndate = "soon"\n', "research = 1\n"):
        path.write_text(research + X, encoding="utf-8")
        with pytest.raises(ParameterDataError) as error:
            load(methodology_rules=path)
        assert str(error.value) == "rules.toml: [research] date must be an ISO date (YYYY-MM-DD)"
    path.write_text(X, encoding="utf-8")
    assert load(methodology_rules=path).rules["X"].name == "x"  # the research table is optional


def test_a_rule_found_in_a_secondary_source_says_so(tmp_path):
    body = (
        X + 'source_kind = "secondary (a review citing it)"\n[methodologies."X".leakage]\nfound = true\n'
        'source = "s"\nsection = "§"\nvalue = "0"\n[methodologies."X".buffer]\nfound = true\nsource = "b"\n'
        'section = "§2"\nvalue = "10%"\nsource_kind = "primary"\n'
    )
    rules = load(methodology_rules=rules_file(tmp_path, body)).rules["X"]
    assert (rules.leakage.secondary, rules.buffer.secondary) == (True, False)
    assert rules.leakage.citation == "s; §; secondary source"
    assert rules.buffer.citation == "b; §2"
    assert rules.leakage.uncertainty_rule is None  # only the uncertainty section holds one


def test_the_one_level_and_the_le_sign_forms_are_read(tmp_path):
    one_level = X + UNCERTAINTY + 'confidence_level = "90%"\nallowable_error = "10%"\n'
    found = uncertainty_rule((load(methodology_rules=rules_file(tmp_path, one_level)).rules["X"],))
    assert found is not None
    assert dict(found[1].allowable_percent_by_confidence) == {Decimal(90): Decimal(10)}
    le_sign = (
        X
        + UNCERTAINTY
        + 'confidence_level = "90%"\ntable = [{uncertainty = "U ≤ 10%", discount_pct_of_U = "0"}, '
        '{uncertainty = "U > 10%", discount_pct_of_U = "100"}]\n'
    )
    found = uncertainty_rule((load(methodology_rules=rules_file(tmp_path, le_sign)).rules["X"],))
    assert found is not None
    assert [(b.lower_exclusive_percent, b.upper_inclusive_percent) for b in found[1].bands] == [
        (None, Decimal(10)),
        (Decimal(10), None),
    ]
