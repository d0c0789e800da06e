"""The append-only, hash-chained issuance ledger."""
