"""Test tiers, and the `stack` fixture (a throwaway real Kafka + FerretDB + Prometheus).

Every test gets one tier marker, from where it lives and what it needs (or from its own
marker, for a test that needs an installed tool but no stack):

- `e2e`: tests/e2e (the scenario through every service to the views);
- `faults`: tests/faults (the broker killed, the store paused, a faulty link);
- `fuzz`: `test_fuzz_*` files (generated requests against each service's OpenAPI);
- `browser`: tests/browser (a real browser against the console on the real stack);
- `service`: any other test that uses the real stack (the `stack` fixture, directly or
  through another fixture);
- `unit`: everything else: pure rules, contracts, the library, documents; no servers.

`./dev quick` runs the unit tier; `./dev test` runs every tier.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["wushe_dev.testing"]

TIERS = ("unit", "service", "e2e", "faults", "fuzz", "browser")


def tier_of(item: pytest.Item) -> str:
    parts = item.path.parts
    if "e2e" in parts:
        return "e2e"
    if "faults" in parts:
        return "faults"
    if "browser" in parts:
        return "browser"
    if item.path.name.startswith("test_fuzz_"):
        return "fuzz"
    if "stack" in getattr(item, "fixturenames", ()):
        return "service"
    return "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker(getattr(pytest.mark, tier_of(item)))
