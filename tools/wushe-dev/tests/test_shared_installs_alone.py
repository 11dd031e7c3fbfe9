"""The shared library is only a library: built and installed on its own, with nothing but the
dependencies it declares (the versions the lock gives), every module of `wushe` imports, and
the tools' dependencies (httpx, pytest, Typer) are not there: what a service image holds.
Offline, from uv's cache (which `uv sync` filled), so it runs on a fresh machine inside
`./dev test`."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT / "shared"
TOOLS_ONLY = ("httpx", "pytest", "typer")

IMPORT_EVERYTHING = """
import importlib, importlib.util, json, pkgutil, wushe
names = ["wushe"] + sorted(m.name for m in pkgutil.walk_packages(wushe.__path__, "wushe."))
for name in names:
    importlib.import_module(name)
print(json.dumps({
    "file": wushe.__file__,
    "modules": names,
    "present": [m for m in TOOLS_ONLY if importlib.util.find_spec(m) is not None],
}))
""".replace("TOOLS_ONLY", repr(TOOLS_ONLY))


def uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        pytest.fail("uv is not on PATH (./dev puts it there)")
    return found


def run(*cmd: str, cwd: Path, **extra_env: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env |= {"UV_LINK_MODE": "copy", "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    env |= extra_env
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_shared_package_installs_and_imports_with_its_own_dependencies_only(
    tmp_path: Path,
) -> None:
    """`uv sync --package wushe-shared --no-dev` into a throwaway environment installs the
    shared package's locked dependencies and nothing else (the lock is the source of the
    versions, uv's cache of the files), and the package itself built as a wheel."""
    venv = tmp_path / "venv"
    run(
        uv(),
        "sync",
        "--quiet",
        "--frozen",
        "--offline",
        "--package",
        "wushe-shared",
        "--no-dev",
        "--no-editable",
        "--python",
        sys.executable,
        cwd=ROOT,
        UV_PROJECT_ENVIRONMENT=str(venv),
    )
    python = str(venv / "bin" / "python")
    try:
        answer = json.loads(run(python, "-I", "-c", IMPORT_EVERYTHING, cwd=tmp_path))
        assert not (venv / "bin" / "wushe").exists(), "the shared package installs no command"
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # a few hundred MB
    assert Path(answer["file"]).is_relative_to(venv), answer["file"]  # not the repository's
    assert {"wushe.contracts", "wushe.service", "wushe.store"} <= set(answer["modules"])
    assert answer["present"] == [], f"{answer['present']} installed with the shared package"


def test_no_module_of_the_shared_package_imports_a_tool() -> None:
    """Not at import time, and not inside a function either (a lazy import fails only when
    that code runs, in an image without the tools)."""
    found = []
    for path in sorted((SHARED / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in (*TOOLS_ONLY, "wushe_dev"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert found == []
