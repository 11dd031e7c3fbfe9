"""How figures are written on a page: money in yuan from fen (¥1,234.50), counts with
thousands separators, dates as 2026年3月30日 (or 2026-03-30 in English), pace as a percent."""

from __future__ import annotations

from datetime import date


def yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def count(n: int | float | None) -> str:
    if n is None:
        return "—"
    return f"{int(n):,}"


def percent(ratio: float | None, digits: int = 0) -> str:
    if ratio is None:
        return "—"
    return f"{ratio * 100:.{digits}f}%"


def day(value: date | str | None, lang: str = "zh") -> str:
    if value is None or value == "":
        return "—"
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else d.isoformat()
