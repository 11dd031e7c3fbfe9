"""Event contracts: the CloudEvents envelope, the registry of event types, JSON Schemas."""

from wushe.contracts.envelope import Envelope, EnvelopeError, Event
from wushe.contracts.registry import REGISTRY, EventRegistry, UnknownEventType

__all__ = ["REGISTRY", "Envelope", "EnvelopeError", "Event", "EventRegistry", "UnknownEventType"]
