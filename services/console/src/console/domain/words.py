"""The words on the screen: every label, message and error, Chinese first, with English for
the switch. The tables are data, not code: one catalogue per area in console/messages/
(`"key" = ["中文", "English"]`), read once at import. A key missing is an error at render
time, never a bare key on a page (tests/test_console_words.py checks the keys pages name)."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from importlib.resources.abc import Traversable

LANGS = ("zh", "en")

# The frame's catalogue; the areas' follow in name order.
FIRST = "words.toml"


class CatalogueError(ValueError):
    """A catalogue that would put a bare key or half a translation on a page."""


def load(folder: Traversable) -> dict[str, tuple[str, str]]:
    """key -> (zh-CN, en) from every *.toml in `folder`. A key twice in one file is a
    TOMLDecodeError; twice across files, or without both languages, a CatalogueError."""
    names = sorted(
        (f.name for f in folder.iterdir() if f.name.endswith(".toml")),
        key=lambda name: (name != FIRST, name),
    )
    if not names:
        raise CatalogueError(f"no message catalogues in {folder}")
    words: dict[str, tuple[str, str]] = {}
    for name in names:
        with (folder / name).open("rb") as f:
            table = tomllib.load(f)
        for key, value in table.items():
            if not (
                isinstance(value, list)
                and len(value) == len(LANGS)
                and all(isinstance(v, str) and v.strip() for v in value)
            ):
                # an unquoted dotted key (app.name = ...) reads as a table: quote it
                raise CatalogueError(f'{name}: "{key}" needs ["中文", "English"], both non-empty')
            if key in words:
                raise CatalogueError(f'{name}: "{key}" is defined in another catalogue too')
            words[key] = (value[0], value[1])
    return words


WORDS: dict[str, tuple[str, str]] = load(files("console").joinpath("messages"))


class MissingWord(KeyError):
    pass


def word(key: str, lang: str = "zh") -> str:
    try:
        zh, en = WORDS[key]
    except KeyError:
        raise MissingWord(key) from None
    return en if lang == "en" else zh
