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
SERVICES = ("registry", "activities", "volunteers", "donations", "training", "projector", "console")

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
            "wushe.funding",  # the one rule sharing a funded activity's outcome out
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
# The console (docs/architecture.md, "The console's rooms") owns no data: no store, no
# handlers, and every module of it is in a room of its own. Its `domain` is purer than a
# service's (the standard library and pydantic only); its `api` renders pages; only
# `backends` talks to the services (httpx), only `oidc` to the identity provider, only
# `session` seals cookies; `demo` (the local stack's demo people) and `assets` (the
# front-end packages from npm) stand apart.
CONSOLE_ROOMS: dict[str, dict[str, tuple[str, ...]]] = {
    "domain": {"own": ("domain",), "others": ("pydantic",)},
    "settings": {"own": (), "others": ("pydantic", "pydantic_settings", "wushe.settings")},
    "api": {
        "own": ("api", "domain", "settings", "backends", "session", "demo", "oidc", "workbook"),
        "others": ("pydantic", "fastapi", "starlette", "jinja2", "markupsafe", "wushe"),
    },
    "backends": {"own": ("settings",), "others": ("httpx",)},
    "workbook": {"own": ("domain",), "others": ("openpyxl",)},
    "session": {"own": (), "others": ("cryptography",)},
    "oidc": {"own": (), "others": ("httpx", "jwt")},
    "demo": {"own": ("backends", "settings"), "others": ("fastapi", "jwt", "wushe.auth")},
    "assets": {"own": (), "others": ()},
    "app": {
        "own": ("api", "assets", "backends", "session", "settings"),
        "others": (
            "fastapi",
            "starlette",
            "httpx",
            "opentelemetry",
            "prometheus_client",
            "wushe",
        ),
    },
}
# What would give the console data of its own or a seat on the bus: it calls the services'
# public APIs and nothing else (decision 0035).
CONSOLE_NEVER_IMPORTS = (
    "pymongo",
    "motor",
    "aiokafka",
    "faststream",
    "wushe.store",
    "wushe.bus",
    "wushe.refcopy",
    "wushe.commands",
    "wushe.idempotency",
    "wushe.deadletters",
    "wushe.lag",
    "wushe.rekey",
    "wushe.pii",
    "wushe.service",
)


def rooms_of(service: str) -> dict[str, dict[str, tuple[str, ...]]]:
    return CONSOLE_ROOMS if service == "console" else ROOMS


# The library never reaches into a service or the tools.
FORBIDDEN_IN_LIBRARY = (*SERVICES, "wushe_dev")
LIBRARY_NEVER_IMPORTS = ("httpx", "pytest", "typer")


def room_of(service: str, module: str) -> str | None:
    """`registry.api.stations` -> "api"; `projector.views.money` -> None (a service's own
    room beyond the six, free to import within the service)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in rooms_of(service) else None


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
            rooms = rooms_of(service)
            rule = rooms[room]
            if top == service:
                target = name.split(".")[1] if "." in name else ""
                # a room may use the service's modules outside the rooms, except the pure
                # domain, which keeps to its own room
                outside_ok = target not in rooms and room != "domain"
                if target and target not in rule["own"] and not outside_ok:
                    found.append(f"{module} ({room}) imports {name}")
            elif not under(name, rule["others"]):
                found.append(f"{module} ({room}) imports {name}")
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_each_room_imports_only_what_its_row_allows(service: str) -> None:
    assert breaches(service) == []


def test_the_console_reads_no_store_and_joins_no_bus() -> None:
    def named(path: Path, module: str) -> Iterator[str]:
        """Every import, `from wushe import store` as `wushe.store` too."""
        yield from imports(path, module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                yield from (f"{node.module}.{alias.name}" for alias in node.names)

    wrong = [
        f"{module}: {name}"
        for module, path in modules("console")
        for name in named(path, module)
        if under(name, CONSOLE_NEVER_IMPORTS)
    ]
    assert wrong == []
    assert not [m for m, _ in modules("console") if room_of("console", m) is None and "." in m]


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
    console = text.split("## The console's rooms", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\|\s*`?(\w+)(?:\.py|/)?`?\s*\|", console, flags=re.M)
    assert set(CONSOLE_ROOMS) == {r for r in rows if r not in ("room", "file")}, rows


def test_no_module_is_over_600_lines() -> None:
    long = []
    for path in [*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("shared/src/**/*.py")]:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > 600:
            long.append(f"{path.relative_to(ROOT)}: {lines}")
    assert long == []
