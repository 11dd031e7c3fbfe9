"""The rooms of a service and what each may import (docs/architecture.md, "What each room may
import"), read from the source with `ast`: the table in the document and this test say the
same, and every module of every service keeps to it."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SERVICES = ("registry", "activities", "volunteers", "donations", "training", "projector")

# Room -> what its modules may import besides the standard library and the service's own
# modules named in `own`. Anything not listed is refused.
ROOMS: dict[str, dict[str, tuple[str, ...]]] = {
    "domain": {
        "own": ("domain",),
        "others": (
            "pydantic",
            "wushe.contracts",
            "wushe.errors",
            "wushe.validators",
            "wushe.clock",
        ),
    },
    "store": {
        "own": ("domain", "store"),
        "others": ("pydantic", "pymongo", "wushe"),
    },
    "api": {
        "own": ("api", "domain", "store", "settings"),
        "others": ("pydantic", "fastapi", "starlette", "wushe"),
    },
    "handlers": {
        "own": ("handlers", "domain", "store", "settings"),
        "others": (
            "pydantic",
            "faststream",
            "aiokafka",
            "opentelemetry",
            "prometheus_client",
            "wushe",
        ),
    },
    "settings": {"own": (), "others": ("pydantic", "pydantic_settings", "wushe.settings")},
}
# The library never reaches into a service or the tools.
FORBIDDEN_IN_LIBRARY = (*SERVICES, "wushe_dev")
LIBRARY_NEVER_IMPORTS = ("httpx", "pytest", "typer")


def room_of(service: str, module: str) -> str | None:
    """`registry.api.stations` -> "api"; `projector.views.money` -> None (a service's own
    room beyond the six, free to import within the service)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else None


def modules(service: str) -> Iterator[tuple[str, Path]]:
    src = ROOT / "services" / service / "src"
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        yield ".".join(parts), path


def imports(path: Path, module: str) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield name
            if node.module is None or node.level:
                yield from (f"{name}.{alias.name}" for alias in node.names)


def stdlib(name: str) -> bool:
    import sys

    return name.split(".")[0] in sys.stdlib_module_names or name == "__future__"


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def breaches(service: str) -> list[str]:
    found = []
    for module, path in modules(service):
        room = room_of(service, module)
        for name in imports(path, module):
            top = name.split(".")[0]
            if top in SERVICES and top != service:
                found.append(f"{module} imports another service: {name}")
            if room is None or stdlib(name):
                continue
            rule = ROOMS[room]
            if top == service:
                target = name.split(".")[1] if "." in name else ""
                # a room may use the service's modules outside the rooms, except the pure
                # domain, which keeps to its own room
                outside_ok = target not in ROOMS and room != "domain"
                if target and target not in rule["own"] and not outside_ok:
                    found.append(f"{module} ({room}) imports {name}")
            elif not under(name, rule["others"]):
                found.append(f"{module} ({room}) imports {name}")
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_each_room_imports_only_what_its_row_allows(service: str) -> None:
    assert breaches(service) == []


def test_the_library_imports_no_service_and_no_tool() -> None:
    src = ROOT / "shared" / "src"
    wrong = []
    for path in sorted(src.rglob("*.py")):
        module = ".".join(path.relative_to(src).with_suffix("").parts)
        for name in imports(path, module):
            if under(name, (*FORBIDDEN_IN_LIBRARY, *LIBRARY_NEVER_IMPORTS)):
                wrong.append(f"{module} imports {name}")
    assert wrong == []


def test_no_service_or_library_imports_the_tools() -> None:
    wrong = []
    for service in SERVICES:
        for module, path in modules(service):
            wrong += [f"{module}: {n}" for n in imports(path, module) if under(n, ("wushe_dev",))]
    assert wrong == []


def test_the_architecture_document_states_the_same_table() -> None:
    """Each room's row in docs/architecture.md names the room; the document and ROOMS list
    the same rooms."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## What each room may import", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\|\s*`?(\w+)(?:\.py)?`?\s*\|", section, flags=re.M)
    documented = {r for r in rows if r not in ("room", "file")}
    assert set(ROOMS) <= documented, documented


def test_no_module_is_over_600_lines() -> None:
    long = []
    for path in [*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("shared/src/**/*.py")]:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > 600:
            long.append(f"{path.relative_to(ROOT)}: {lines}")
    assert long == []
