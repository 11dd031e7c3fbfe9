"""The committed JSON Schemas are current, and no committed schema ever changed in a way that
breaks old readers or old data (checked against every earlier version in git history)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from wushe.contracts.registry import load_all_contracts
from wushe.contracts.schemas import SCHEMA_DIR, breaking_changes, generate


def test_committed_schemas_match_the_contracts() -> None:
    generated = generate(load_all_contracts())
    committed = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
    removed = sorted(set(committed) - set(generated))
    assert not removed, f"event types must stay readable; contracts removed: {removed}"
    stale = sorted(name for name, text in generated.items() if committed.get(name) != text)
    assert not stale, f"regenerate with `./dev wushe contracts write-schemas`: {stale}"


def _history(path: Path) -> list[str]:
    out = subprocess.run(
        ["git", "log", "--format=%H", "--", str(path)],
        cwd=path.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed to read old schemas")
def test_no_committed_schema_changed_incompatibly() -> None:
    root = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=SCHEMA_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    problems: dict[str, list[str]] = {}
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        current = json.loads(path.read_text())
        rel = path.relative_to(root)
        for rev in _history(path):
            old = subprocess.run(
                ["git", "show", f"{rev}:{rel}"],
                cwd=root,
                capture_output=True,
                text=True,
                check=False,
            )
            if old.returncode == 0:
                found = breaking_changes(json.loads(old.stdout), current)
                if found:
                    problems[f"{path.name} vs {rev[:8]}"] = found
    assert not problems, f"breaking changes need a new .vN event type: {problems}"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed to read old schemas")
def test_no_committed_schema_was_ever_deleted() -> None:
    out = subprocess.run(
        ["git", "log", "--diff-filter=D", "--name-only", "--format=", "--", "."],
        cwd=SCHEMA_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    deleted = {Path(line).name for line in out.split() if line.endswith(".json")}
    gone = sorted(name for name in deleted if not (SCHEMA_DIR / name).exists())
    assert not gone, f"old event types must stay readable; schemas deleted: {gone}"
