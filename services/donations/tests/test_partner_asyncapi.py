"""The AsyncAPI document partners read matches the code: every partner event type is a
message whose payload is its committed JSON Schema, and the feed's name and settings are the
ones the service ensures."""

from __future__ import annotations

from pathlib import Path

import yaml

from wushe.contracts.events import donations as ev
from wushe.contracts.registry import load_all_contracts
from wushe.topics import PARTNER_FEED_PREFIX, partner_feed

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "asyncapi" / "donations-partner.yaml"


def test_every_partner_event_is_documented_with_its_committed_schema() -> None:
    doc = yaml.safe_load(DOC.read_text())
    assert doc["asyncapi"].startswith("3.")
    messages = doc["components"]["messages"]
    on_partner = {c.event_type for c in load_all_contracts() if c.topic == ev.PARTNER}
    assert {m["name"] for m in messages.values()} == on_partner
    for message in messages.values():
        schema = (DOC.parent / message["payload"]["$ref"]).resolve()
        assert schema.exists(), schema
        assert schema.name == f"{message['name']}.json"
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
    channel = doc["channels"]["partner"]
    assert channel["address"] == PARTNER_FEED_PREFIX + "{funderId}"
    assert set(channel["parameters"]) == {"funderId"}
    kafka = channel["bindings"]["kafka"]
    feed = partner_feed("dnr-0123456789abcdef0123")
    assert kafka["partitions"] == feed.partitions == 1
    assert kafka["topicConfiguration"]["retention.ms"] == feed.retention_ms == -1


def test_partner_events_are_keyed_by_the_funder() -> None:
    for cls in load_all_contracts():
        if cls.topic == ev.PARTNER:
            assert cls.partition_by == "funder_id", cls.event_type
            assert "funder_id" in cls.model_fields
