"""The registry of event types: wire name -> pydantic model, one place for every producer and
consumer, so contracts are never copied into consumers and never routed by class name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from pydantic import ValidationError

from wushe.contracts.envelope import Envelope, EnvelopeError, Event

E = TypeVar("E", bound=type[Event])


class UnknownEventType(EnvelopeError):
    """A well-formed CloudEvent whose type no contract describes."""


class EventRegistry:
    def __init__(self) -> None:
        self._types: dict[str, type[Event]] = {}

    def register(self, cls: E) -> E:
        """Class decorator: add an event contract; a name may be registered only once."""
        name = getattr(cls, "event_type", None)
        if not name or not getattr(cls, "topic", None):
            raise TypeError(f"{cls.__name__} needs type= and topic= in its class statement")
        parts = name.split(".")
        if len(parts) != 3 or not parts[2].startswith("v") or not parts[2][1:].isdigit():
            raise TypeError(f"event type {name!r} must look like <context>.<PastTense>.v<N>")
        existing = self._types.get(name)
        if existing is not None and existing is not cls:
            raise TypeError(f"event type {name!r} is already registered by {existing.__name__}")
        self._types[name] = cls
        return cls

    def get(self, name: str) -> type[Event]:
        try:
            return self._types[name]
        except KeyError:
            raise UnknownEventType(f"unknown event type {name!r}") from None

    def decode(self, envelope: Envelope) -> Event:
        """The typed payload of an envelope; `EnvelopeError` when it breaks its contract."""
        cls = self.get(envelope.type)
        try:
            return cls.model_validate(envelope.data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(body)"
            raise EnvelopeError(f"{envelope.type} is invalid: {field}: {first['msg']}") from exc

    def __iter__(self) -> Iterator[type[Event]]:
        return iter(sorted(self._types.values(), key=lambda c: c.event_type))

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __len__(self) -> int:
        return len(self._types)


# The platform's registry. Contract modules (wushe.contracts.events.<producer>) register
# into it when imported; `load_all_contracts()` imports every one of them.
REGISTRY = EventRegistry()


def load_all_contracts() -> EventRegistry:
    import importlib
    import pkgutil

    from wushe.contracts import events

    for mod in pkgutil.iter_modules(events.__path__):
        importlib.import_module(f"{events.__name__}.{mod.name}")
    return REGISTRY
