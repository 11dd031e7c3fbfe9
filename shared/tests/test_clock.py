"""Every date the platform records or checks is China's: the calendar is Beijing time's
whatever the machine's zone, and no code takes the machine's own date."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from wushe import clock, web

ROOT = Path(__file__).resolve().parents[2]


def test_the_day_turns_at_midnight_in_beijing_not_at_midnight_utc() -> None:
    assert clock.today(datetime(2026, 12, 3, 15, 59, 59, tzinfo=UTC)) == date(2026, 12, 3)
    assert clock.today(datetime(2026, 12, 3, 16, 0, tzinfo=UTC)) == date(2026, 12, 4)
    assert clock.today(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == date(2027, 1, 1)


def test_the_routers_today_is_chinas(monkeypatch: pytest.MonkeyPatch) -> None:
    # 01:30 in Beijing: a UTC machine's own date is still the 3rd.
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 3, 17, 30, tzinfo=UTC))
    assert web.today() == date(2026, 12, 4)


def machine_dates(source: str) -> list[int]:
    """Lines that read the machine's local calendar: `date.today()`, or `datetime.now()` and
    `datetime.today()` without a zone."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if not isinstance(owner, ast.Name):
            continue
        naive_now = owner.id == "datetime" and node.func.attr in ("now", "today")
        if (owner.id == "date" and node.func.attr == "today") or (naive_now and not node.args):
            lines.append(node.lineno)
    return lines


def test_no_code_takes_the_machines_own_date() -> None:
    sources = [*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("shared/src/**/*.py")]
    assert len(sources) > 40
    found = {
        str(p.relative_to(ROOT)): lines
        for p in sources
        if (lines := machine_dates(p.read_text(encoding="utf-8")))
    }
    assert not found, f"use wushe.clock.today() or an aware datetime.now(UTC): {found}"


def test_the_scan_finds_what_it_looks_for() -> None:
    assert machine_dates("from datetime import date\nx = date.today()\n") == [2]
    assert machine_dates("y = datetime.now()\n") == [1]
    assert machine_dates("y = datetime.now(UTC)\n") == []
