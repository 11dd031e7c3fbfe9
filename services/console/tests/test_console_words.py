"""The message catalogues (console/messages/*.toml): every entry Chinese and English, every
key in one catalogue only, and every key a template or the code names literally present."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import console
from console.domain import words

pytestmark = pytest.mark.unit

PACKAGE = Path(console.__file__).parent
MESSAGES = PACKAGE / "messages"
# t("key") in a template, word("key", ...) in the code; not t('prefix.' ~ code)
LITERAL = re.compile(r"""\b(?:t|word)\(\s*["']([a-z_][\w.]*\w)["']\s*[,)]""")


def test_the_shipped_catalogues_load_whole() -> None:
    """load() refuses a key twice or without both languages (the cases below); here the
    shipped files pass it, and every entry of theirs is in WORDS."""
    catalogues = {
        p.name: tomllib.loads(p.read_text(encoding="utf-8")) for p in MESSAGES.glob("*.toml")
    }
    assert words.FIRST in catalogues
    assert words.load(MESSAGES) == words.WORDS
    assert sum(len(c) for c in catalogues.values()) == len(words.WORDS)


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"words.toml": '"a" = ["甲", "A"]\n"a" = ["乙", "B"]\n'}, tomllib.TOMLDecodeError),
        (
            {"words.toml": '"a" = ["甲", "A"]\n', "x.toml": '"a" = ["乙", "B"]\n'},
            words.CatalogueError,
        ),
        ({"words.toml": '"a" = ["甲"]\n'}, words.CatalogueError),
        ({"words.toml": '"a" = ["甲", ""]\n'}, words.CatalogueError),
        ({"words.toml": 'a.b = ["甲", "A"]\n'}, words.CatalogueError),
        ({}, words.CatalogueError),
    ],
    ids=["twice-in-a-file", "twice-across-files", "one-language", "empty", "unquoted", "none"],
)
def test_a_catalogue_that_would_show_a_bare_or_half_word_is_refused(
    tmp_path: Path, files: dict[str, str], error: type[Exception]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(error):
        words.load(tmp_path)


def test_every_key_a_template_or_the_code_names_literally_exists() -> None:
    used = {
        key
        for path in [*PACKAGE.rglob("*.html"), *PACKAGE.rglob("*.py")]
        for key in LITERAL.findall(path.read_text(encoding="utf-8"))
    }
    assert used
    assert sorted(used - words.WORDS.keys()) == []
