"""Numbers as the pages show them: kilograms and tonnes with thousands separators, money in 元 from fen.

Integers in, text out; no float ever touches a quantity or an amount (DESIGN.md, "Words").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from ledger.orm import as_utc

KG_PER_T = 1_000
FEN_PER_YUAN = 100
CHINA_TIME = ZoneInfo("Asia/Shanghai")


def kg(value: int) -> str:
    """``1234567`` → ``1,234,567 kg``."""
    return f"{int(value):,} kg"


def tonnes(value_kg: int) -> str:
    """Kilograms as tonnes, exact to the kilogram, trailing zeros dropped: ``1234500`` → ``1,234.5 t``."""
    whole, rest = divmod(int(value_kg), KG_PER_T)
    if value_kg < 0:
        return "-" + tonnes(-value_kg)
    fraction = f"{rest:03d}".rstrip("0")
    return f"{whole:,}.{fraction} t" if fraction else f"{whole:,} t"


def yuan(amount_fen: int) -> str:
    """Fen as yuan with two decimals: ``123456`` → ``1,234.56 元``."""
    sign = "-" if amount_fen < 0 else ""
    whole, fen = divmod(abs(int(amount_fen)), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{fen:02d} 元"


def mu(value: Decimal | int | str, unit: str = "亩") -> str:
    """An area in 亩 (1/15 ha) with thousands separators, two decimals only when it has them."""
    area = Decimal(value).quantize(Decimal("0.01"))
    text = f"{area:,.2f}"
    return f"{text[:-3] if text.endswith('.00') else text} {unit}"


def local_time(moment: datetime | str | None) -> str:
    """A UTC moment in China Standard Time, to the minute (the registry's readers are in Sichuan)."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return as_utc(moment).astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


FILTERS: dict[str, Callable[..., str]] = {
    "kg": kg,
    "tonnes": tonnes,
    "yuan": yuan,
    "mu": mu,
    "local_time": local_time,
}
