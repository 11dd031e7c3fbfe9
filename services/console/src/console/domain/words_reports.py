"""The words of the reports pages (key -> (zh-CN, en))."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {}
