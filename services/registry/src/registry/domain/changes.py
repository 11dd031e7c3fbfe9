"""What an update of a registry record records: only what really changes."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from wushe.contracts import Event

M = TypeVar("M", bound=BaseModel)


def record_changes(
    state: M, updates: dict[str, Any], event: type[Event], *keys: str
) -> tuple[M, list[Event]]:
    """The state with `updates` applied, and one `event` naming the fields that changed and
    their new values after the record's `keys` (its id, its region); the same values again
    change nothing."""
    changed = sorted(k for k, v in updates.items() if getattr(state, k) != v)
    if not changed:
        return state, []
    values = {k: updates[k] for k in changed}
    return state.model_copy(update=values), [
        event(**{k: getattr(state, k) for k in keys}, changed=changed, **values)
    ]
