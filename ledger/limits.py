"""Limits on everything a command may carry (TigerStyle: put a limit on everything).

They bound the size of an entry body, the work one append may ask of the sequencer, and the text a
public entry may carry. The largest batch is one gigatonne: far beyond any sink project in the
province, and well inside the 2**53 integers that RFC 8785 JSON represents exactly.
"""

MAX_QUANTITY_KG = 10**12
MAX_RANGES_PER_ENTRY = 1_000
MAX_ALLOCATIONS_PER_ISSUE = 100
MAX_COMMANDS_PER_APPEND = 10_000
MAX_BODY_BYTES = 256 * 1024  # 1,000 ranges of ~120 bytes each fit with room to spare
MAX_REQUEST_ID_CHARS = 128
MAX_NAME_CHARS = 200
MAX_DETAILS_CHARS = 1_000
MAX_REASON_CHARS = 500
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_CHARS = 200
MAX_PAGE_ENTRIES = 1_000
"""The most entries one page of ``GET /api/v1/ledger/entries?start&limit`` lists."""
MAX_PAGE_BODY_BYTES = 4 * 1024 * 1024
"""A page stops before the entry whose body would take its bodies past this many bytes (it always holds
at least one entry): a page of the largest entries stays a few MiB."""
