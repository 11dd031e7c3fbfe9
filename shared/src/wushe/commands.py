"""The one command path every write route takes: load the aggregate, check the caller may
touch it, decide (the service's pure rules), save the new state with its events in one
commit, answer.

    saved = await commands.change(
        store.activities, activity_id, Activity, who,
        region=lambda a: a.facts.region_code, missing="activity",
        decide=lambda a: domain.hold_activity(a, ...),
    )
    return activity_out(saved.state, saved.version)

What the caller may touch is checked here and only here: today the token's region scope
(another province's record is answered as if it did not exist, a 404), and the place where
role permissions join it. A broken rule raised by `decide` (`wushe.errors.DomainError`) is
answered by the service factory's one handler (`wushe.problems`); a writer that got there
first raises `ConcurrencyError` (409), or is retried on the newer state with `retrying`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from wushe.auth import Principal
from wushe.contracts import Event
from wushe.errors import DomainError, NotFound
from wushe.store import ConcurrencyError, EventStore
from wushe.validators import check_region_code

M = TypeVar("M", bound=BaseModel)
Events = Event | Sequence[Event]
# Where a state lies: one region code, or several (a programme's scope regions).
Region = Callable[[M], str | Iterable[str]]


@dataclass(frozen=True)
class Saved(Generic[M]):
    """The state after the command and its version (unchanged when nothing happened)."""

    state: M
    version: int


class OutOfScope(DomainError):
    """A body names a region outside the caller's scope (403)."""

    status = 403


def events_of(decided: Events) -> list[Event]:
    return [decided] if isinstance(decided, Event) else list(decided)


def sees(who: Principal, where: str | Iterable[str]) -> bool:
    if isinstance(where, str):
        return who.can_see(where)
    return who.shares_scope(where)


def in_scope(who: Principal, region_code: str, field: str = "region_code") -> str:
    """A region code named in a body: valid (else 422) and inside the caller's scope (else
    403: the caller named it, so nothing is hidden by saying it is not theirs)."""
    try:
        code = check_region_code(region_code)
    except ValueError as exc:
        raise DomainError(field, str(exc)) from None
    if not who.can_see(code):
        raise OutOfScope(field, f"{code} is outside your region scope {who.region_scope}")
    return code


async def load_visible(
    store: EventStore,
    stream_id: str,
    model: type[M],
    who: Principal,
    *,
    region: Region[M],
    missing: str,
    field: str | None = None,
    initial: Callable[[], M] | None = None,
) -> tuple[M, int]:
    """The aggregate and its version, or 404 when it does not exist or lies outside the
    caller's scope (the same answer: a 403 would say that it exists). `initial`: an
    aggregate that exists from its first command on (a province's points rules), its state
    before any."""
    state, version = await store.load_model(stream_id, model)
    if state is None and initial is not None:
        state = initial()
    if state is None or not sees(who, region(state)):
        raise NotFound(field or f"{missing}_id", f"{missing} {stream_id} not found")
    return state, version


async def change(
    store: EventStore,
    stream_id: str,
    model: type[M],
    who: Principal,
    decide: Callable[[M], tuple[M, Events] | Awaitable[tuple[M, Events]]],
    *,
    region: Region[M],
    missing: str,
    field: str | None = None,
    initial: Callable[[], M] | None = None,
    retries: int = 0,
) -> Saved[M]:
    """Change an existing aggregate the caller may see (`field`, `initial`: as in
    `load_visible`). `retries`: when a writer got there first, load and decide again on
    the newer state, up to that many times, before the 409. `decide` may be async when the
    command's references are looked up only once the aggregate is known to be visible
    (another province's session answers 404 before its attendees are checked)."""
    attempt = 0
    while True:
        state, version = await load_visible(
            store,
            stream_id,
            model,
            who,
            region=region,
            missing=missing,
            field=field,
            initial=initial,
        )
        outcome = decide(state)
        new, decided = await outcome if inspect.isawaitable(outcome) else outcome
        try:
            return Saved(new, await store.save_model(stream_id, version, new, events_of(decided)))
        except ConcurrencyError:
            attempt += 1
            if attempt > retries:
                raise


async def create(
    store: EventStore,
    stream_id: str,
    who: Principal,
    decide: Callable[[], tuple[M, Events]],
    *,
    region: Region[M],
    exists: DomainError | None = None,
    version: int = 0,
    same: type[M] | None = None,
) -> Saved[M]:
    """Start a new aggregate. Its place must lie in the caller's scope (the decision names
    it); a stream that exists already raises `exists` (a `Conflict` naming the body field
    that chose the id), else `ConcurrencyError` (409). `version`: a stream whose aggregate
    ended (a closed client file opened again) starts its new life after its last commit.
    `same=Model`: the stream id derives from the request itself (an Idempotency-Key, an
    organisation's registry id), so an existing stream is that request's own effect,
    answered as it stands (404 outside the caller's scope) instead of refused."""
    if same is not None and (found := await _existing(store, stream_id, same, who, region)):
        return found
    new, decided = decide()
    if not sees(who, region(new)):
        raise NotFound("region_code", "outside your region scope")
    try:
        return Saved(new, await store.save_model(stream_id, version, new, events_of(decided)))
    except ConcurrencyError:
        if same is not None and (found := await _existing(store, stream_id, same, who, region)):
            return found  # a concurrent twin of the request got there first
        if exists is None:
            raise
        raise exists from None


async def _existing(
    store: EventStore, stream_id: str, model: type[M], who: Principal, region: Region[M]
) -> Saved[M] | None:
    state, version = await store.load_model(stream_id, model)
    if state is None:
        return None
    if not sees(who, region(state)):
        raise NotFound("region_code", "outside your region scope")
    return Saved(state, version)


async def retrying(
    store: EventStore,
    stream_id: str,
    model: type[M],
    who: Principal,
    decide: Callable[[M], tuple[M, Events]],
    *,
    region: Region[M],
    missing: str,
    initial: Callable[[], M] | None = None,
) -> M:
    """Change an aggregate whose invariant must hold under concurrent writers (a balance,
    a daily total): a writer that loses the race decides again on the newer state.
    `initial`: as in `load_visible` (a volunteer's ledger before its first attendance)."""

    def checked(current: M | None) -> tuple[M, Events]:
        if current is None and initial is not None:
            current = initial()
        if current is None or not sees(who, region(current)):
            raise NotFound(f"{missing}_id", f"{missing} {stream_id} not found")
        return decide(current)

    return await store.update_model(stream_id, model, checked)
