"""JSON Schemas of the event contracts, generated from the pydantic models and committed.

`write_schemas` writes one file per event type into `contracts/schemas/`; a test checks the
files are current and that no committed schema ever changed in a way old readers or old data
would break on (`breaking_changes`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wushe.contracts.registry import EventRegistry

SCHEMA_DIR = Path(__file__).with_name("schemas")


def schema_of(cls: type[Any]) -> dict[str, Any]:
    schema: dict[str, Any] = cls.model_json_schema(mode="serialization")
    schema["$id"] = f"urn:wushe:event:{cls.event_type}"
    schema["x-topic"] = cls.topic
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def generate(registry: EventRegistry) -> dict[str, str]:
    """File name -> rendered schema for every registered type."""
    return {f"{cls.event_type}.json": render(schema_of(cls)) for cls in registry}


def write_schemas(registry: EventRegistry, directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate(registry).items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


# --------------------------------------------------------------------------- compatibility


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {}), root)
    return schema


def _types(schema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    """The JSON types a (sub)schema admits, expanding anyOf/oneOf."""
    schema = _resolve(schema, root)
    out: set[str] = set()
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, []):
            out |= _types(sub, root)
    t = schema.get("type")
    if isinstance(t, str):
        out.add(t)
    elif isinstance(t, list):
        out |= set(t)
    if "enum" in schema or "const" in schema:
        out.add("enum")
    return out or {"any"}


def _enum_values(schema: dict[str, Any]) -> set[str]:
    values = list(schema.get("enum", []))
    if "const" in schema:
        values.append(schema["const"])
    return set(map(json.dumps, values))


def breaking_changes(
    old: dict[str, Any],
    new: dict[str, Any],
    *,
    path: str = "",
    old_root: dict[str, Any] | None = None,
    new_root: dict[str, Any] | None = None,
) -> list[str]:
    """Why `new` cannot replace `old` for an event type, or [] when it can.

    Backward compatible means: every event valid under `old` is valid under `new` (new
    readers read old data) and every field old readers need is still produced. So: no field
    removed, no new required field, no required field made optional, no type narrowed or
    changed, no enum value removed.
    """
    old_root = old_root or old
    new_root = new_root or new
    old = _resolve(old, old_root)
    new = _resolve(new, new_root)
    problems: list[str] = []
    where = path or "(root)"

    old_types, new_types = _types(old, old_root), _types(new, new_root)
    if "any" not in new_types and not old_types <= new_types:
        problems.append(f"{where}: type changed from {sorted(old_types)} to {sorted(new_types)}")

    old_enum, new_enum = _enum_values(old), _enum_values(new)
    if old_enum and new_enum and not old_enum <= new_enum:
        problems.append(f"{where}: enum values removed: {sorted(old_enum - new_enum)}")

    old_props: dict[str, Any] = old.get("properties", {})
    new_props: dict[str, Any] = new.get("properties", {})
    old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
    for name in sorted(old_props):
        sub = f"{path}.{name}" if path else name
        if name not in new_props:
            problems.append(f"{sub}: field removed")
            continue
        if name in old_req and name not in new_req:
            problems.append(f"{sub}: required field became optional")
        problems += breaking_changes(
            old_props[name], new_props[name], path=sub, old_root=old_root, new_root=new_root
        )
    for name in sorted(new_req - old_req):
        problems.append(f"{path + '.' if path else ''}{name}: new required field")

    if "items" in old and "items" in new:
        problems += breaking_changes(
            old["items"], new["items"], path=f"{where}[]", old_root=old_root, new_root=new_root
        )
    return problems
