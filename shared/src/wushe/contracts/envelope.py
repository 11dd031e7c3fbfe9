"""The event envelope: CloudEvents 1.0 in Kafka binary content mode.

On the wire an event is a Kafka record whose value is the JSON of the event's data and whose
headers carry the CloudEvents attributes as ``ce_<attribute>`` (plus ``content-type`` and the
W3C ``traceparent``), so partners read it with any CloudEvents SDK. The Kafka key is the
aggregate id, which keeps one aggregate's events in order on one partition.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"

# CloudEvents attributes carried as Kafka headers (binary mode, spec section 3.2.3).
_REQUIRED_HEADERS = ("ce_id", "ce_source", "ce_type", "ce_specversion")


class EnvelopeError(ValueError):
    """A Kafka record that is not a well-formed Wushe CloudEvent (it goes to the DLQ)."""


class EventPart(BaseModel):
    """A nested part of an event payload, read as tolerantly as the event itself."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Event(BaseModel):
    """Base of every event payload (the CloudEvents `data`).

    A subclass names its wire type and topic once::

        class StationOpened(Event, type="registry.StationOpened.v1", topic="registry.stations"):
            station_id: str
            region_code: RegionCode

    Names are past tense and versioned: a breaking change gets a new name (`.v2`) and the old
    type stays registered and readable. Readers ignore fields they do not know, so adding an
    optional field is backward compatible.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    topic: ClassVar[str]
    # The field whose value keys the Kafka record instead of the aggregate id (CloudEvents
    # partitioning extension, `partitionkey`): e.g. a partner stream keyed by foundation.
    partition_by: ClassVar[str | None] = None

    def __init_subclass__(
        cls, *, type: str | None = None, topic: str | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if type is not None:
            cls.event_type = type
        if topic is not None:
            cls.topic = topic

    @classmethod
    def of(cls, state: BaseModel, **fields: Any) -> Self:
        """This event about an aggregate: `fields`, and every other field of the event from
        the state's field of the same name (its id, its place, the facts it records). Not for
        an event whose empty fields mean "unchanged" (`StationDetailsChanged`)."""
        return cls(**state.model_dump(include=set(cls.model_fields) - set(fields)), **fields)


class Envelope(BaseModel):
    """One event with its CloudEvents context attributes."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    subject: str = Field(description="the aggregate id; also the Kafka key")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    topic: str
    data: dict[str, Any]
    specversion: str = SPECVERSION
    traceparent: str | None = None
    tracestate: str | None = None
    # Extension attributes (lower-case alphanumerics, per the spec).
    correlationid: str | None = None
    causationid: str | None = None
    # The event's place in its aggregate's stream: "<version>.<index in commit>", zero-padded
    # so that string order is stream order. Consumers use it to drop duplicate copies.
    sequence: str | None = None
    # CloudEvents partitioning extension: the Kafka key when it is not the subject.
    partitionkey: str | None = None

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        source: str,
        subject: str,
        event_id: str | None = None,
        time: datetime | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> Envelope:
        return cls(
            id=event_id or str(uuid.uuid4()),
            source=source,
            type=event.event_type,
            subject=subject,
            time=time or datetime.now(UTC),
            topic=event.topic,
            data=event.model_dump(mode="json"),
            correlationid=correlation_id,
            causationid=causation_id,
            partitionkey=str(getattr(event, event.partition_by)) if event.partition_by else None,
        )

    # -- Kafka binary mode
    @property
    def key(self) -> bytes:
        return (self.partitionkey or self.subject).encode()

    def body(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode()

    def headers(self) -> dict[str, str]:
        h = {
            "ce_specversion": self.specversion,
            "ce_id": self.id,
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_subject": self.subject,
            "ce_time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "content-type": CONTENT_TYPE,
        }
        optional = {
            "traceparent": self.traceparent,
            "tracestate": self.tracestate,
            "ce_correlationid": self.correlationid,
            "ce_causationid": self.causationid,
            "ce_sequence": self.sequence,
            "ce_partitionkey": self.partitionkey,
        }
        h.update({k: v for k, v in optional.items() if v})
        return h

    @classmethod
    def from_kafka(
        cls,
        topic: str,
        headers: Iterable[tuple[str, bytes | None]] | Mapping[str, Any],
        value: bytes | None,
    ) -> Envelope:
        """Parse a record; raise `EnvelopeError` saying what is wrong (for the DLQ headers)."""
        items = headers.items() if isinstance(headers, Mapping) else headers
        h: dict[str, str] = {}
        for k, v in items:
            if v is None:  # Kafka allows a header without a value: as if it were absent
                continue
            try:
                h[k.lower()] = v.decode() if isinstance(v, bytes | bytearray) else str(v)
            except UnicodeDecodeError as exc:
                raise EnvelopeError(f"header {k} is not UTF-8") from exc
        missing = [name for name in _REQUIRED_HEADERS if not h.get(name)]
        if missing:
            raise EnvelopeError(f"not a CloudEvent in binary mode: missing {', '.join(missing)}")
        if h["ce_specversion"] != SPECVERSION:
            raise EnvelopeError(f"unsupported CloudEvents specversion {h['ce_specversion']}")
        ctype = h.get("content-type", CONTENT_TYPE).split(";")[0].strip()
        if ctype != CONTENT_TYPE:
            raise EnvelopeError(f"unsupported content-type {ctype}")
        try:
            data = json.loads(value or b"")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EnvelopeError(f"body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise EnvelopeError("body must be a JSON object")
        try:
            return cls(
                id=h["ce_id"],
                source=h["ce_source"],
                type=h["ce_type"],
                subject=h.get("ce_subject", ""),
                time=h.get("ce_time") or datetime.now(UTC),
                topic=topic,
                data=data,
                traceparent=h.get("traceparent"),
                tracestate=h.get("tracestate"),
                correlationid=h.get("ce_correlationid"),
                causationid=h.get("ce_causationid"),
                sequence=h.get("ce_sequence"),
                partitionkey=h.get("ce_partitionkey"),
            )
        except ValidationError as exc:
            raise EnvelopeError(f"bad CloudEvents attribute: {exc.errors()[0]['msg']}") from exc
