"""The one command path every write route takes: load the aggregate, check the caller may
touch it, decide (the service's pure rules), save the new state with its events in one
commit, answer.

    ACTIVITY = Aggregate(stores["activities"], Activity, region=..., missing="activity")
    saved = await ACTIVITY.change(who, activity_id, lambda a: domain.hold_activity(a, ...))
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
from typing import Any, Generic, TypeVar

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


def region_code(state: Any) -> str:
    """Where most states lie: their own `region_code`."""
    return str(state.region_code)


@dataclass(frozen=True)
class Saved(Generic[M]):
    """The state after the command and its version (unchanged when nothing happened)."""

    state: M
    version: int


class OutOfScope(DomainError):
    """A body names a region outside the caller's scope (403)."""

    status = 403
    problem = ("out-of-scope", "超出您的数据范围 (outside your scope)")


def events_of(decided: Events) -> list[Event]:
    return [decided] if isinstance(decided, Event) else list(decided)


def sees(who: Principal, where: str | Iterable[str], state: Any = None) -> bool:
    """Whether a state lies within the caller's scope: its region, and for station staff
    its station (a state that belongs to a station names it as `station_id`)."""
    inside = who.can_see(where) if isinstance(where, str) else who.shares_scope(where)
    if inside and who.station_bound and hasattr(state, "station_id"):
        return who.at_station(state.station_id)
    return inside


class NotYourStation(OutOfScope):
    """Station staff naming a station that is not theirs (403: they named it)."""


def at_station(who: Principal, station_id: str, field: str = "station_id") -> str:
    """A station named in a body: one of the caller's, when the caller is station staff."""
    if not who.at_station(station_id):
        raise NotYourStation(field, f"{station_id} is not one of your stations")
    return station_id


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


Decide = Callable[[M], tuple[M, Events] | Awaitable[tuple[M, Events]]]


@dataclass(frozen=True)
class Aggregate(Generic[M]):
    """One aggregate type's command path (its store, its state model, where a state lies,
    its name in a 404), bound once per service, or per request where the place or the first
    state depends on the request. A route then says only who, which and what to decide.

    `field`: the input named by a 404 (default `<missing>_id`). `initial`: the state of an
    aggregate that exists from its first command on (a province's points rules, a
    volunteer's ledger), before any.
    """

    store: EventStore
    model: type[M]
    region: Region[M]
    missing: str
    field: str | None = None
    initial: Callable[[], M] | None = None

    def _visible(self, who: Principal, stream_id: str, state: M | None) -> M:
        if state is None and self.initial is not None:
            state = self.initial()
        if state is None or not sees(who, self.region(state), state):
            what = f"{self.missing} {stream_id} not found"
            raise NotFound(self.field or f"{self.missing}_id", what)
        return state

    async def load(self, who: Principal, stream_id: str) -> tuple[M, int]:
        """The aggregate and its version, or 404 when it does not exist or lies outside
        the caller's scope (the same answer: a 403 would say that it exists)."""
        state, version = await self.store.load_model(stream_id, self.model)
        return self._visible(who, stream_id, state), version

    async def change(
        self, who: Principal, stream_id: str, decide: Decide[M], *, retries: int = 0
    ) -> Saved[M]:
        """Change an existing aggregate the caller may see. `retries`: when a writer got
        there first, load and decide again on the newer state, up to that many times,
        before the 409. `decide` may be async when the command's references are looked up
        only once the aggregate is known to be visible (another province's session answers
        404 before its attendees are checked)."""
        attempt = 0
        while True:
            state, version = await self.load(who, stream_id)
            outcome = decide(state)
            new, decided = await outcome if inspect.isawaitable(outcome) else outcome
            try:
                saved = await self.store.save_model(stream_id, version, new, events_of(decided))
                return Saved(new, saved)
            except ConcurrencyError:
                attempt += 1
                if attempt > retries:
                    raise

    async def create(
        self,
        who: Principal,
        stream_id: str,
        decide: Callable[[], tuple[M, Events]],
        *,
        exists: DomainError | None = None,
        version: int = 0,
        same: bool = False,
    ) -> Saved[M]:
        """Start a new aggregate. Its place must lie in the caller's scope (the decision
        names it); a stream that exists already raises `exists` (a `Conflict` naming the
        body field that chose the id), else `ConcurrencyError` (409). `version`: a stream
        whose aggregate ended (a closed client file opened again) starts its new life after
        its last commit. `same`: the stream id derives from the request itself (an
        Idempotency-Key, an organisation's registry id), so an existing stream is that
        request's own effect, answered as it stands (404 outside the caller's scope)
        instead of refused."""
        if same and (found := await self._existing(who, stream_id)):
            return found
        new, decided = decide()
        if not sees(who, self.region(new)):
            raise NotFound("region_code", "outside your region scope")
        if hasattr(new, "station_id"):
            at_station(who, new.station_id)
        try:
            return Saved(
                new, await self.store.save_model(stream_id, version, new, events_of(decided))
            )
        except ConcurrencyError:
            if same and (found := await self._existing(who, stream_id)):
                return found  # a concurrent twin of the request got there first
            if exists is None:
                raise
            raise exists from None

    async def _existing(self, who: Principal, stream_id: str) -> Saved[M] | None:
        state, version = await self.store.load_model(stream_id, self.model)
        if state is None:
            return None
        if not sees(who, self.region(state), state):
            raise NotFound("region_code", "outside your region scope")
        return Saved(state, version)

    async def retrying(
        self, who: Principal, stream_id: str, decide: Callable[[M], tuple[M, Events]]
    ) -> M:
        """Change an aggregate whose invariant must hold under concurrent writers (a
        balance, a daily total): a writer that loses the race decides again on the newer
        state."""
        return await self.store.update_model(
            stream_id, self.model, lambda current: decide(self._visible(who, stream_id, current))
        )
