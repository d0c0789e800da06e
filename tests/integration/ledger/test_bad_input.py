"""Bad input gets the specific ledger error, naming the field at fault, and changes nothing at all.

Every case runs against a small ledger (an issue, a transfer, a retirement and a cancellation, and a signed
checkpoint) and compares a snapshot of every table before and after the refused append.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from ledger import limits
from ledger.commands import (
    Allocation,
    Beneficiary,
    Cancel,
    Command,
    Issue,
    Retire,
    Selection,
    Transfer,
)
from ledger.errors import (
    DuplicateBatch,
    EntryTooLarge,
    IdempotencyConflict,
    InsufficientHolding,
    InvalidCommand,
    LedgerError,
    RangeNotHeld,
    UnknownAccount,
    UnknownBatch,
)
from ledger.ranges import SerialRange
from ledger.service import LedgerService

B = "LS01-2023-001"
"""The seeded batch: OWN-A 1..900 (301..900 after the transfer), ENT-A 51..300, retired 1..50,
BUFFER 911..1000, cancelled 901..910."""

SEED: list[Command] = [
    Issue("seed-issue", "LS01", "2023", 1, (Allocation("OWN-A", 900), Allocation("BUFFER", 100))),
    Transfer("seed-transfer", "OWN-A", "ENT-A", Selection(quantity_kg=300), memo="履约购买"),
    Retire(
        "seed-retire",
        "ENT-A",
        Selection(quantity_kg=50),
        Beneficiary("企业甲", True),
        "compliance_period",
        "2025",
    ),
    Cancel("seed-cancel", "BUFFER", Selection(quantity_kg=10), "监测数据更正"),
]


def snapshot(service: LedgerService) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in a stable order."""
    with service.database.reading() as session:
        tables = (
            session.execute(
                text(
                    "SELECT name FROM sqlite_master "
                    "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            )
            .scalars()
            .all()
        )
        return {
            table: sorted((tuple(row) for row in session.execute(text(f'SELECT * FROM "{table}"'))), key=repr)
            for table in tables
        }


@pytest.fixture
def seeded(service: LedgerService) -> LedgerService:
    service.append(SEED)
    service.sign_checkpoint()
    return service


def assert_refused(
    service: LedgerService,
    commands: list[Command],
    error: type[LedgerError],
    field: str | None,
    size: int = len(SEED),
) -> LedgerError:
    before = snapshot(service)
    assert before["ledger_entries"], "the snapshot must see the seeded entries"
    with pytest.raises(LedgerError) as refused:
        service.append(commands)
    assert type(refused.value) is error, refused.value
    assert refused.value.field == field, refused.value
    assert snapshot(service) == before
    assert service.size() == size
    service.verify()
    return refused.value


def transfer(
    quantity: object = 10, *, source: str = "OWN-A", to: str = "ENT-B", rid: str = "bad-1"
) -> Transfer:
    return Transfer(rid, source, to, Selection(quantity_kg=quantity))  # type: ignore[arg-type]


def ranges(*items: tuple[int, int], batch: str = B) -> Selection:
    return Selection(ranges=tuple(SerialRange(batch, start, end) for start, end in items))


def retire(
    selection: Selection,
    *,
    account: str = "OWN-A",
    reason: str = "gift",
    details: str = "",
    name: object = "李明",
    public: object = True,
) -> Retire:
    return Retire("bad-1", account, selection, Beneficiary(name, public), reason, details)  # type: ignore[arg-type]


# --- quantities -----------------------------------------------------------------------------------------

BAD_QUANTITIES = [
    pytest.param(0, id="zero"),
    pytest.param(-1, id="minus-one"),
    pytest.param(-(10**6), id="large-negative"),
    pytest.param(1.5, id="float-fraction"),
    pytest.param(2.0, id="float-whole"),
    pytest.param(0.001, id="float-gram"),
    pytest.param(Decimal("1.5"), id="decimal-fraction"),
    pytest.param(Decimal("2"), id="decimal-whole"),
    pytest.param(Decimal("2.000"), id="decimal-whole-with-zeros"),
    pytest.param(float("nan"), id="float-nan"),
    pytest.param(float("inf"), id="float-infinity"),
    pytest.param(Decimal("NaN"), id="decimal-nan"),
    pytest.param(Decimal("-Infinity"), id="decimal-minus-infinity"),
    pytest.param(True, id="bool-true"),
    pytest.param(False, id="bool-false"),
    pytest.param("5", id="string-digits"),
    pytest.param("five", id="string-words"),
    pytest.param([5], id="list"),
    pytest.param(limits.MAX_QUANTITY_KG + 1, id="beyond-the-limit"),
]


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_a_transfer_of_a_bad_quantity_is_refused(seeded, quantity):
    assert_refused(seeded, [transfer(quantity)], InvalidCommand, "quantity_kg")


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_a_retirement_of_a_bad_quantity_is_refused(seeded, quantity):
    assert_refused(seeded, [retire(Selection(quantity_kg=quantity))], InvalidCommand, "quantity_kg")


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_a_cancellation_of_a_bad_quantity_is_refused(seeded, quantity):
    cancel = Cancel("bad-1", "BUFFER", Selection(quantity_kg=quantity), "冲销")
    assert_refused(seeded, [cancel], InvalidCommand, "quantity_kg")


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_an_issue_allocating_a_bad_quantity_is_refused(seeded, quantity):
    issue = Issue("bad-1", "LS01", "2023", 2, (Allocation("OWN-A", 100), Allocation("BUFFER", quantity)))
    assert_refused(seeded, [issue], InvalidCommand, "allocations.quantity_kg")


def test_a_missing_quantity_without_ranges_is_refused(seeded):
    assert_refused(seeded, [transfer(None)], InvalidCommand, "quantity_kg")


def test_a_quantity_and_ranges_together_are_refused(seeded):
    both = Selection(ranges=(SerialRange(B, 301, 310),), quantity_kg=10)
    assert_refused(seeded, [Transfer("bad-1", "OWN-A", "ENT-B", both)], InvalidCommand, "quantity_kg")


def test_an_issue_whose_allocations_add_up_beyond_the_limit_is_refused(seeded):
    half = limits.MAX_QUANTITY_KG // 2 + 1
    issue = Issue("bad-1", "LS01", "2023", 2, (Allocation("OWN-A", half), Allocation("BUFFER", half)))
    assert_refused(seeded, [issue], InvalidCommand, "allocations")


def test_more_than_is_held_is_refused_as_an_insufficient_holding(seeded):
    assert_refused(seeded, [transfer(601)], InsufficientHolding, "quantity_kg")


def test_retired_kilograms_do_not_count_as_held(seeded):
    # ENT-A holds 250 live kilograms; its 50 retired ones cannot be moved again.
    assert_refused(seeded, [transfer(251, source="ENT-A")], InsufficientHolding, "quantity_kg")


# --- accounts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "field"),
    [
        pytest.param(transfer(source="NOBODY-1"), "from", id="transfer-from-by-quantity"),
        pytest.param(
            Transfer("bad-1", "NOBODY-1", "ENT-B", ranges((301, 310))), "from", id="transfer-from-by-ranges"
        ),
        pytest.param(transfer(to="NOBODY-1"), "to", id="transfer-to"),
        pytest.param(retire(Selection(quantity_kg=5), account="NOBODY-1"), "account", id="retire"),
        pytest.param(Cancel("bad-1", "NOBODY-1", Selection(quantity_kg=5), "冲销"), "account", id="cancel"),
        pytest.param(
            Issue("bad-1", "LS01", "2023", 2, (Allocation("OWN-A", 5), Allocation("NOBODY-1", 5))),
            "allocations.account",
            id="issue-allocation",
        ),
    ],
)
def test_an_unknown_account_is_refused(seeded, command, field):
    assert_refused(seeded, [command], UnknownAccount, field)


@pytest.mark.parametrize("account", ["own-a", "A", "OWN_A", "-OWN", "OWN-", "企业", "X" * 65, 42, None])
def test_a_malformed_account_id_is_refused(seeded, account):
    assert_refused(seeded, [transfer(source=account)], InvalidCommand, "from")
    assert_refused(seeded, [transfer(to=account)], InvalidCommand, "to")


def test_a_transfer_to_oneself_is_refused(seeded):
    assert_refused(seeded, [transfer(to="OWN-A")], InvalidCommand, "to")
    assert_refused(seeded, [Transfer("bad-1", "OWN-A", "OWN-A", ranges((301, 310)))], InvalidCommand, "to")


# --- batches and ranges ---------------------------------------------------------------------------------


def test_ranges_of_an_unknown_batch_are_refused(seeded):
    selection = ranges((1, 10), batch="LS99-2023-001")
    assert_refused(seeded, [Transfer("bad-1", "OWN-A", "ENT-B", selection)], UnknownBatch, "ranges.batch")


def test_a_quantity_from_an_unknown_batch_is_refused(seeded):
    selection = Selection(quantity_kg=10, batches=("LS99-2023-001",))
    assert_refused(seeded, [Transfer("bad-1", "OWN-A", "ENT-B", selection)], UnknownBatch, "batches")


@pytest.mark.parametrize("batch", ["LS01-23-1", "LS01-2023-００１", "LS01-２０２３-001", "LS01-2023-٠٠١"])
def test_a_malformed_batch_id_is_refused(seeded, batch):
    # Digits of other scripts read as numbers (int("００１") is 1): an id written with them would name
    # batch 001 without being its id, or make an id that looks like another batch's.
    selection = ranges((1, 10), batch=batch)
    assert_refused(seeded, [Transfer("bad-1", "OWN-A", "ENT-B", selection)], InvalidCommand, "batch")


@pytest.mark.parametrize("vintage", ["20２３", "２０２３", "20٢٣"])
def test_a_vintage_in_digits_other_than_ascii_is_refused(seeded, vintage):
    issue = Issue("bad-1", "LS01", vintage, 2, (Allocation("OWN-A", 5),))
    assert_refused(seeded, [issue], InvalidCommand, "vintage")


def test_reissuing_a_batch_is_refused(seeded):
    issue = Issue("bad-1", "LS01", "2023", 1, (Allocation("OWN-A", 5),))
    assert_refused(seeded, [issue], DuplicateBatch, "batch.id")


@pytest.mark.parametrize(
    ("account", "spans"),
    [
        pytest.param("OWN-A", [(100, 110)], id="held-by-another-account"),
        pytest.param("OWN-A", [(295, 310)], id="partly-held"),
        pytest.param("OWN-A", [(301, 310), (905, 915)], id="one-of-two-not-held"),
        pytest.param("ENT-A", [(1, 10)], id="retired"),
        pytest.param("ENT-A", [(50, 51)], id="straddling-a-retirement"),
        pytest.param("BUFFER", [(901, 905)], id="cancelled"),
        pytest.param("ENT-B", [(301, 301)], id="account-holds-nothing"),
    ],
)
def test_ranges_not_held_are_refused(seeded, account, spans):
    selection = ranges(*spans)
    recipient = "ENT-B" if account != "ENT-B" else "ENT-A"
    assert_refused(seeded, [Transfer("bad-1", account, recipient, selection)], RangeNotHeld, "ranges")
    assert_refused(seeded, [retire(selection, account=account)], RangeNotHeld, "ranges")
    assert_refused(seeded, [Cancel("bad-1", account, selection, "冲销")], RangeNotHeld, "ranges")


def test_a_retired_range_cannot_be_retired_twice(seeded):
    error = assert_refused(seeded, [retire(ranges((1, 50)), account="ENT-A")], RangeNotHeld, "ranges")
    assert "SC-LS01-2023-001-1-50" in str(error)


@pytest.mark.parametrize(
    "spans",
    [
        pytest.param([(400, 410), (405, 420)], id="overlapping"),
        pytest.param([(400, 410), (400, 410)], id="the-same-range-twice"),
        pytest.param([(400, 410), (410, 410)], id="sharing-one-kilogram"),
        pytest.param([(400, 500), (450, 451)], id="one-inside-another"),
    ],
)
def test_overlapping_ranges_are_refused(seeded, spans):
    assert_refused(seeded, [Transfer("bad-1", "OWN-A", "ENT-B", ranges(*spans))], InvalidCommand, "ranges")


@pytest.mark.parametrize(
    "spans", [[(950, 1005)], [(1001, 1001)], [(2000, 3000)]], ids=["straddling", "just", "far"]
)
def test_ranges_beyond_the_batch_are_refused(seeded, spans):
    assert_refused(seeded, [Transfer("bad-1", "BUFFER", "ENT-B", ranges(*spans))], RangeNotHeld, "ranges.end")


def test_too_many_ranges_are_refused(seeded):
    many = ranges(*[(301 + 2 * i, 301 + 2 * i) for i in range(limits.MAX_RANGES_PER_ENTRY + 1)])
    assert_refused(seeded, [Transfer("bad-1", "OWN-A", "ENT-B", many)], InvalidCommand, "ranges")


# --- request ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_id",
    [
        pytest.param("", id="empty"),
        pytest.param("r" * (limits.MAX_REQUEST_ID_CHARS + 1), id="too-long"),
        pytest.param("order 17", id="inner-space"),
        pytest.param(" order-17", id="leading-space"),
        pytest.param("order-17 ", id="trailing-space"),
        pytest.param("order-17\n", id="trailing-newline"),
        pytest.param("order\t17", id="tab"),
        pytest.param("订单-17", id="chinese"),
        pytest.param("ordér-17", id="accented"),
        pytest.param("order-١٧", id="arabic-indic-digits"),
        pytest.param("-order", id="leading-hyphen"),
        pytest.param(".order", id="leading-dot"),
        pytest.param("order;DROP", id="semicolon"),
        pytest.param(17, id="integer"),
        pytest.param(None, id="none"),
    ],
)
def test_a_malformed_request_id_is_refused(seeded, request_id):
    assert_refused(seeded, [transfer(rid=request_id)], InvalidCommand, "request_id")


def test_a_request_id_of_the_maximum_length_is_accepted(seeded):
    request_id = "r" * limits.MAX_REQUEST_ID_CHARS
    [entry] = seeded.append([transfer(rid=request_id)])
    assert entry.request_id == request_id
    assert seeded.size() == len(SEED) + 1


def test_a_request_id_repeated_within_one_append_is_refused(seeded):
    assert_refused(seeded, [transfer(rid="twice"), transfer(5, rid="twice")], InvalidCommand, "request_id")


def test_an_empty_append_is_refused(seeded):
    assert_refused(seeded, [], InvalidCommand, None)


def test_an_append_may_hold_as_many_commands_as_the_limit_and_not_one_more(seeded):
    most = limits.MAX_COMMANDS_PER_APPEND
    seeded.append([Issue("more", "LS01", "2023", 2, (Allocation("OWN-A", most + 1),))])
    size = len(SEED) + 1
    one_kg_each = [transfer(1, rid=f"many-{index}") for index in range(most + 1)]
    error = assert_refused(seeded, one_kg_each, InvalidCommand, None, size=size)
    assert f"append 1 to {most} commands at a time" in str(error)
    entries = seeded.append(one_kg_each[:most])
    assert [entry.seq for entry in entries] == list(range(size, size + most))
    assert seeded.size() == size + most


# --- texts and sizes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "field"),
    [
        pytest.param(
            retire(Selection(quantity_kg=1), name="名" * (limits.MAX_NAME_CHARS + 1)),
            "beneficiary.name",
            id="beneficiary-name",
        ),
        pytest.param(
            retire(Selection(quantity_kg=1), details="d" * (limits.MAX_DETAILS_CHARS + 1)),
            "details",
            id="retirement-details",
        ),
        pytest.param(
            Transfer(
                "bad-1", "OWN-A", "ENT-B", Selection(quantity_kg=1), memo="m" * (limits.MAX_DETAILS_CHARS + 1)
            ),
            "memo",
            id="transfer-memo",
        ),
        pytest.param(
            Cancel("bad-1", "BUFFER", Selection(quantity_kg=1), "r" * (limits.MAX_REASON_CHARS + 1)),
            "reason",
            id="cancel-reason",
        ),
        pytest.param(
            Issue(
                "bad-1",
                "LS01",
                "2023",
                2,
                (Allocation("OWN-A", 5),),
                attributes={f"a{i}": i for i in range(limits.MAX_ATTRIBUTES + 1)},
            ),
            "attributes",
            id="too-many-attributes",
        ),
        pytest.param(
            Issue(
                "bad-1",
                "LS01",
                "2023",
                2,
                (Allocation("OWN-A", 5),),
                attributes={"county": "县" * (limits.MAX_ATTRIBUTE_CHARS + 1)},
            ),
            "attributes.county",
            id="attribute-value",
        ),
        pytest.param(
            Issue(
                "bad-1",
                "LS01",
                "2023",
                2,
                tuple(Allocation("OWN-A", 1) for _ in range(limits.MAX_ALLOCATIONS_PER_ISSUE + 1)),
            ),
            "allocations",
            id="too-many-allocations",
        ),
    ],
)
def test_text_and_lists_beyond_their_limits_are_refused(seeded, command, field):
    assert_refused(seeded, [command], InvalidCommand, field)


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        pytest.param({"County": "雅安"}, "attributes", id="capitalised-name"),
        pytest.param({"area mu": 5}, "attributes", id="name-with-space"),
        pytest.param({"area_mu\n": 5}, "attributes", id="name-with-trailing-newline"),
        pytest.param({"a" * 41: 5}, "attributes", id="name-too-long"),
        pytest.param({"area_ha": 1.5}, "attributes.area_ha", id="float-value"),
        pytest.param({"area_ha": Decimal("1.5")}, "attributes.area_ha", id="decimal-value"),
        pytest.param({"big": limits.MAX_QUANTITY_KG + 1}, "attributes.big", id="integer-beyond-limit"),
        pytest.param({"county": "雅安\x00"}, "attributes.county", id="control-character"),
        pytest.param({"tags": ["a"]}, "attributes.tags", id="list-value"),
    ],
)
def test_malformed_batch_attributes_are_refused(seeded, attributes, field):
    issue = Issue("bad-1", "LS01", "2023", 2, (Allocation("OWN-A", 5),), attributes=attributes)
    assert_refused(seeded, [issue], InvalidCommand, field)


@pytest.mark.parametrize("memo", ["line\x00", "bell\x07", "esc\x1b[31m", "del\x7f"])
def test_control_characters_in_text_are_refused(seeded, memo):
    command = Transfer("bad-1", "OWN-A", "ENT-B", Selection(quantity_kg=1), memo=memo)
    assert_refused(seeded, [command], InvalidCommand, "memo")


BIG = "ABCDEFGHIJKLMNOP-2023-001"


@pytest.fixture
def scattered(service: LedgerService) -> LedgerService:
    """ENT-B holds 1,001 separate single kilograms with 12-digit serials of a batch with the longest id."""
    service.append(
        [Issue("big-issue", "ABCDEFGHIJKLMNOP", "2023", 1, (Allocation("OWN-B", limits.MAX_QUANTITY_KG),))]
    )
    top = limits.MAX_QUANTITY_KG
    singles = [SerialRange(BIG, top - 2 * i, top - 2 * i) for i in range(limits.MAX_RANGES_PER_ENTRY + 1)]
    service.append(
        [
            Transfer("scatter-1", "OWN-B", "ENT-B", Selection(ranges=tuple(singles[:-1]))),
            Transfer("scatter-2", "OWN-B", "ENT-B", Selection(ranges=tuple(singles[-1:]))),
        ]
    )
    return service


def test_the_largest_entry_the_limits_allow_fits_in_a_body(scattered):
    # The most ranges an entry may name, each as long as serials get, with the longest texts: the per-field
    # limits keep every entry under MAX_BODY_BYTES, so no valid command is ever refused for its size.
    [entry] = scattered.append(
        [
            Retire(
                "largest",
                "ENT-B",
                Selection(quantity_kg=limits.MAX_RANGES_PER_ENTRY),
                Beneficiary("𠀀" * limits.MAX_NAME_CHARS, True),
                "other",
                "𠀀" * limits.MAX_DETAILS_CHARS,
            )
        ]
    )
    assert len(entry.data["ranges"]) == limits.MAX_RANGES_PER_ENTRY
    assert 100_000 < len(entry.body.encode("utf-8")) <= limits.MAX_BODY_BYTES


def test_a_quantity_spread_over_too_many_ranges_is_refused(scattered):
    count = limits.MAX_RANGES_PER_ENTRY + 1
    command = Transfer("too-spread", "ENT-B", "ENT-A", Selection(quantity_kg=count))
    assert_refused(scattered, [command], InvalidCommand, "quantity_kg", size=3)


def test_a_body_over_the_size_limit_is_refused_as_entry_too_large(seeded, monkeypatch):
    # No valid command reaches the real limit (see above), so lower it to reach it with attributes.
    monkeypatch.setattr(limits, "MAX_BODY_BYTES", 16 * 1024)
    attributes = {f"note_{i}": "川" * limits.MAX_ATTRIBUTE_CHARS for i in range(limits.MAX_ATTRIBUTES)}
    issue = Issue("bad-1", "LS01", "2023", 2, (Allocation("OWN-A", 5),), attributes=attributes)
    error = assert_refused(seeded, [issue], EntryTooLarge, None)
    assert str(16 * 1024) in str(error)


def test_attribute_padding_does_not_slip_past_the_attribute_limit(seeded):
    # The limit is measured on the stripped value; the stored value must be that stripped value too, or
    # whitespace padding would carry any amount of text into a public entry.
    padded = " " * 20_000 + "雅安市" + "\n" * 20_000
    [entry] = seeded.append(
        [Issue("pad-1", "LS01", "2023", 2, (Allocation("OWN-A", 5),), {"county": padded})]
    )
    assert entry.data["batch"]["attributes"] == {"county": "雅安市"}
    assert len(entry.body.encode("utf-8")) < 2_000
    seeded.sign_checkpoint()
    seeded.verify()


# --- retirements and cancellations ----------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["fun", "", "Gift", "gift ", "compliance", None])
def test_a_retirement_for_an_unknown_reason_is_refused(seeded, reason):
    assert_refused(
        seeded, [retire(Selection(quantity_kg=1), reason=reason, details="x")], InvalidCommand, "reason"
    )


@pytest.mark.parametrize("reason", ["compliance_period", "event", "other"])
@pytest.mark.parametrize("details", ["", "   ", "\n\t"])
def test_a_retirement_whose_reason_needs_details_is_refused_without_them(seeded, reason, details):
    assert_refused(
        seeded, [retire(Selection(quantity_kg=1), reason=reason, details=details)], InvalidCommand, "details"
    )


@pytest.mark.parametrize("name", ["", "   ", None, 42])
def test_a_retirement_without_a_beneficiary_name_is_refused(seeded, name):
    assert_refused(seeded, [retire(Selection(quantity_kg=1), name=name)], InvalidCommand, "beneficiary.name")


@pytest.mark.parametrize("public", ["yes", 1, None])
def test_a_beneficiary_whose_publicity_is_not_a_boolean_is_refused(seeded, public):
    assert_refused(
        seeded, [retire(Selection(quantity_kg=1), public=public)], InvalidCommand, "beneficiary.public"
    )


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_cancellation_without_a_reason_is_refused(seeded, reason):
    cancel = Cancel("bad-1", "BUFFER", Selection(quantity_kg=1), reason)  # type: ignore[arg-type]
    assert_refused(seeded, [cancel], InvalidCommand, "reason")


# --- idempotency ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            Transfer("seed-transfer", "OWN-A", "ENT-A", Selection(quantity_kg=301)), id="other-quantity"
        ),
        pytest.param(
            Transfer("seed-transfer", "OWN-A", "ENT-B", Selection(quantity_kg=300)), id="other-recipient"
        ),
        pytest.param(
            Transfer("seed-transfer", "OWN-B", "ENT-A", Selection(quantity_kg=300)), id="other-sender"
        ),
        pytest.param(
            Retire("seed-transfer", "OWN-A", Selection(quantity_kg=300), Beneficiary("x", True), "gift"),
            id="other-kind",
        ),
        pytest.param(
            Retire(
                "seed-retire",
                "ENT-A",
                Selection(quantity_kg=50),
                Beneficiary("企业甲", True),
                "event",
                "2025",
            ),
            id="other-reason",
        ),
        pytest.param(
            Retire(
                "seed-retire",
                "ENT-A",
                Selection(quantity_kg=50),
                Beneficiary("企业甲", False),
                "compliance_period",
                "2025",
            ),
            id="other-publicity",
        ),
        pytest.param(
            Cancel("seed-cancel", "BUFFER", Selection(quantity_kg=10), "另一个原因"), id="other-cancel-reason"
        ),
        pytest.param(
            Issue("seed-issue", "LS01", "2023", 2, (Allocation("OWN-A", 900), Allocation("BUFFER", 100))),
            id="other-batch",
        ),
        pytest.param(
            Issue("seed-issue", "LS01", "2023", 1, (Allocation("OWN-A", 1000),)), id="other-allocations"
        ),
    ],
)
def test_a_request_id_reused_for_a_different_command_is_an_idempotency_conflict(seeded, command):
    error = assert_refused(seeded, [command], IdempotencyConflict, "request_id")
    assert command.request_id in str(error)


def test_an_idempotency_conflict_inside_a_batch_appends_none_of_it(seeded):
    fresh = transfer(5, rid="fresh-1")
    conflicting = Transfer("seed-transfer", "OWN-A", "ENT-A", Selection(quantity_kg=1))
    assert_refused(seeded, [fresh, conflicting], IdempotencyConflict, "request_id")


def test_the_same_request_id_for_the_same_command_returns_the_first_entry_and_changes_nothing(seeded):
    before = snapshot(seeded)
    entries = seeded.append(SEED)
    assert [entry.seq for entry in entries] == [0, 1, 2, 3]
    assert all(entry.repeated for entry in entries)
    assert snapshot(seeded) == before


def test_a_batch_with_one_bad_command_appends_none_of_it(seeded):
    good = [
        Issue("batch-1", "LS01", "2023", 2, (Allocation("OWN-B", 500),)),
        Transfer("batch-2", "OWN-B", "ENT-B", Selection(quantity_kg=200)),
        Retire(
            "batch-3", "ENT-B", Selection(quantity_kg=20), Beneficiary("王芳", False), "personal_footprint"
        ),
    ]
    bad = Transfer("batch-4", "ENT-B", "ENT-A", ranges((1, 10)))  # retired long ago
    assert_refused(seeded, [*good, bad], RangeNotHeld, "ranges")
    # The same good commands alone go through, so it was the bad one that sank the batch.
    assert [entry.seq for entry in seeded.append(good)] == [4, 5, 6]
