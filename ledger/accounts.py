"""Opening ledger accounts inside a caller's unit of work (the registry's own accounts included)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ledger.errors import InvalidCommand
from ledger.models import ACCOUNT_TYPES, Account
from ledger.serials import check_account_id

REGISTRY = "REGISTRY"
BUFFER = "BUFFER"
RETAIL = "RETAIL"
REGISTRY_ACCOUNTS = (
    (REGISTRY, "registry", "四川省林草碳汇登记簿"),
    (BUFFER, "buffer", "非持久性风险缓冲池"),
    (RETAIL, "retail", "碳汇交易市场零售库存"),
)


def ensure_account(session: Session, account_id: str, account_type: str, name: str) -> Account:
    """The account with this id, created if it does not exist yet; its type must match."""
    check_account_id(account_id)
    if account_type not in ACCOUNT_TYPES:
        raise InvalidCommand(f"account type must be one of {', '.join(ACCOUNT_TYPES)}", field="type")
    account = session.get(Account, account_id)
    if account is None:
        account = Account(id=account_id, type=account_type, name=name[:200], created_at=datetime.now(UTC))
        session.add(account)
        session.flush()
    elif account.type != account_type:
        raise InvalidCommand(f"account {account_id} is a {account.type} account", field="account")
    return account


def ensure_registry_accounts(session: Session) -> None:
    for account_id, account_type, name in REGISTRY_ACCOUNTS:
        ensure_account(session, account_id, account_type, name)
