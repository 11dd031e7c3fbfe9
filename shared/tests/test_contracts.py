import json
from datetime import UTC, datetime
from typing import Literal

import pytest
from pydantic import BaseModel

from wushe.contracts import Envelope, EnvelopeError, Event, EventRegistry, UnknownEventType
from wushe.contracts.schemas import breaking_changes, generate, schema_of


class SampleOpened(Event, type="sample.SampleOpened.v1", topic="sample.things"):
    thing_id: str
    region_code: str
    count: int = 0


def make_registry() -> EventRegistry:
    reg = EventRegistry()
    reg.register(SampleOpened)
    return reg


def test_envelope_kafka_round_trip_keeps_every_attribute() -> None:
    at = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    env = Envelope.wrap(
        SampleOpened(thing_id="t1", region_code="360102", count=3),
        source="/wushe/sample",
        subject="t1",
        time=at,
        correlation_id="c-1",
    )
    env = env.model_copy(update={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"})
    headers = [(k, v.encode()) for k, v in env.headers().items()]
    assert dict(env.headers())["ce_time"] == "2026-11-23T08:30:00Z"
    back = Envelope.from_kafka("sample.things", headers, env.body())
    assert back == env
    assert env.key == b"t1"
    assert json.loads(env.body()) == {"thing_id": "t1", "region_code": "360102", "count": 3}


def test_chinese_text_travels_as_utf8() -> None:
    class Named(Event, type="sample.Named.v1", topic="sample.things"):
        name: str

    env = Envelope.wrap(Named(name="八一大道社工站"), source="/s", subject="x")
    assert "八一大道社工站".encode() in env.body()


@pytest.mark.parametrize(
    ("headers", "value", "reason"),
    [
        ([], b"{}", "missing ce_id"),
        (
            [("ce_id", b"1"), ("ce_source", b"/s"), ("ce_type", b"t"), ("ce_specversion", b"0.3")],
            b"{}",
            "specversion",
        ),
        (
            [("ce_id", b"1"), ("ce_source", b"/s"), ("ce_type", b"t"), ("ce_specversion", b"1.0")],
            b"\xff\xfe garbage",
            "not JSON",
        ),
        (
            [("ce_id", b"1"), ("ce_source", b"/s"), ("ce_type", b"t"), ("ce_specversion", b"1.0")],
            b"[1, 2]",
            "JSON object",
        ),
        (
            [
                ("ce_id", b"\xff"),
                ("ce_source", b"/s"),
                ("ce_type", b"t"),
                ("ce_specversion", b"1.0"),
            ],
            b"{}",
            "UTF-8",
        ),
    ],
)
def test_from_kafka_rejects_with_a_reason(headers, value, reason) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EnvelopeError, match=reason):
        Envelope.from_kafka("t", headers, value)


def test_registry_decodes_and_names_the_bad_field() -> None:
    reg = make_registry()
    env = Envelope.wrap(SampleOpened(thing_id="t1", region_code="36"), source="/s", subject="t1")
    assert reg.decode(env) == SampleOpened(thing_id="t1", region_code="36")
    bad = env.model_copy(update={"data": {"thing_id": "t1"}})
    with pytest.raises(EnvelopeError, match="region_code"):
        reg.decode(bad)
    with pytest.raises(UnknownEventType):
        reg.decode(env.model_copy(update={"type": "sample.Nope.v1"}))


def test_readers_ignore_unknown_fields() -> None:
    reg = make_registry()
    env = Envelope.wrap(SampleOpened(thing_id="t", region_code="36"), source="/s", subject="t")
    newer = env.model_copy(update={"data": {**env.data, "added_later": True}})
    assert reg.decode(newer) == SampleOpened(thing_id="t", region_code="36")


def test_registry_refuses_bad_names_and_double_registration() -> None:
    reg = make_registry()

    class Unversioned(Event, type="sample.Opened", topic="t"):
        pass

    with pytest.raises(TypeError, match="v<N>"):
        reg.register(Unversioned)

    class Clash(Event, type="sample.SampleOpened.v1", topic="t"):
        pass

    with pytest.raises(TypeError, match="already registered"):
        reg.register(Clash)


# --- schema compatibility ---------------------------------------------------------------


class V1(BaseModel):
    station_id: str
    kind: Literal["township", "street"]
    sessions: int
    note: str | None = None


def _schema(model: type[BaseModel]) -> dict:  # type: ignore[type-arg]
    return model.model_json_schema(mode="serialization")


def test_adding_an_optional_field_is_compatible() -> None:
    class V1b(V1):
        elder_person_times: int = 0

    assert breaking_changes(_schema(V1), _schema(V1b)) == []


@pytest.mark.parametrize(
    ("new_fields", "problem"),
    [
        ({"station_id": (int, ...)}, "station_id: type changed"),
        ({"sessions": (int | None, None)}, "sessions: required field became optional"),
        ({"added": (str, ...)}, "added: new required field"),
        ({"kind": (Literal["township"], ...)}, "enum values removed"),
    ],
)
def test_breaking_changes_are_named(new_fields, problem) -> None:  # type: ignore[no-untyped-def]
    from pydantic import create_model

    fields = {
        "station_id": (str, ...),
        "kind": (Literal["township", "street"], ...),
        "sessions": (int, ...),
        "note": (str | None, None),
        **new_fields,
    }
    new = create_model("V2", **fields)
    problems = breaking_changes(_schema(V1), _schema(new))
    assert any(problem in p for p in problems), problems


def test_removing_a_field_is_breaking() -> None:
    class Smaller(BaseModel):
        station_id: str
        kind: Literal["township", "street"]
        sessions: int

    assert breaking_changes(_schema(V1), _schema(Smaller)) == ["note: field removed"]


def test_generated_schema_names_type_and_topic() -> None:
    schema = schema_of(SampleOpened)
    assert schema["$id"] == "urn:wushe:event:sample.SampleOpened.v1"
    assert schema["x-topic"] == "sample.things"
    assert set(generate(make_registry())) == {"sample.SampleOpened.v1.json"}


def test_sequence_travels_as_an_extension_attribute() -> None:
    env = Envelope.wrap(SampleOpened(thing_id="t", region_code="36"), source="/s", subject="t")
    env = env.model_copy(update={"sequence": "0000000003.0001"})
    headers = [(k, v.encode()) for k, v in env.headers().items()]
    assert ("ce_sequence", b"0000000003.0001") in headers
    assert Envelope.from_kafka("t", headers, env.body()).sequence == "0000000003.0001"


def test_a_header_without_a_value_counts_as_absent() -> None:
    """Kafka lets a header carry no value (None): it must not fail the parse, and a required
    attribute sent that way is missing, with that reason."""
    env = Envelope.wrap(SampleOpened(thing_id="t", region_code="36"), source="/s", subject="t")
    headers: list[tuple[str, bytes | None]] = [(k, v.encode()) for k, v in env.headers().items()]
    extra = [("ce_correlationid", None)]
    assert Envelope.from_kafka("t", headers + extra, env.body()).correlationid is None
    nulled = [(k, None if k == "ce_id" else v) for k, v in headers]
    with pytest.raises(EnvelopeError, match="missing ce_id"):
        Envelope.from_kafka("t", nulled, env.body())
