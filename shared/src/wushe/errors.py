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
    # The problem type and title when not the status's own (wushe.problems.KINDS).
    problem: tuple[str, str] | None = None

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Conflict(DomainError):
    """The command is valid but clashes with what exists: a duplicate, a wrong state (409)."""

    status = 409


class NotFound(DomainError):
    status = 404


class RoleRefused(DomainError):
    """The caller's roles do not include one this operation needs (403)."""

    status = 403
    problem = ("role-not-permitted", "角色无权此操作 (role not permitted)")


class DutiesSeparated(DomainError):
    """The caller recorded the thing they now try to verify or approve (403)."""

    status = 403
    problem = ("separation-of-duties", "职责分离：不能审核自己录入的记录 (separation of duties)")


class PeriodClosed(Conflict):
    """A write dated inside a month already closed (数据审核/锁定) for its region (409)."""

    problem = ("period-closed", "该月数据已锁定 (period closed)")


def valid(field: str, check: Callable[..., T], value: Any, **options: Any) -> T:
    """`check(value, **options)` (a `wushe.validators` check), its ValueError answered as a
    broken rule of `field`."""
    try:
        return check(value, **options)
    except ValueError as exc:
        raise DomainError(field, str(exc)) from None
