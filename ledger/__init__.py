"""The append-only, hash-chained issuance ledger."""

from ledger.native import check_build

# A compiled module whose source has changed would run the old code: refuse it (see ledger/native.py).
check_build()
