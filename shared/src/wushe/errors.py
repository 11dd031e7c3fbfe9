"""Domain errors every service's pure rules raise: the field at fault and the reason.

The service factory's one handler (`wushe.problems`) answers them as a problem that names
the field, and bulk imports turn them into per-row errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class DomainError(ValueError):
    """A command broke a rule (422). `field` names the input at fault, dotted for nesting."""

    status = 422

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Conflict(DomainError):
    """The command is valid but clashes with what exists: a duplicate, a wrong state (409)."""

    status = 409


class NotFound(DomainError):
    status = 404


def valid(field: str, check: Callable[..., T], value: Any, **options: Any) -> T:
    """`check(value, **options)` (a `wushe.validators` check), its ValueError answered as a
    broken rule of `field`."""
    try:
        return check(value, **options)
    except ValueError as exc:
        raise DomainError(field, str(exc)) from None
