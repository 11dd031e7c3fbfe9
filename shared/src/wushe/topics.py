"""Topics whose settings matter, declared once: the services ensure them at start, the
deploy manifests (Strimzi `KafkaTopic`) carry the same numbers.

Three kinds of topic are kept forever rather than the broker's default 7 days:

- **reference topics** (the registry's stations, programmes, organisations, regions, closed
  months): a service that starts a year later builds its copy from offset 0;
- **the partner stream** (`donations.partner`) and each partner's feed
  (`donations.partner-feed.<funder id>`): partner foundations replay from offset 0;
- **every topic a view reads** (`views_source_topics`): a rebuild of the views replays them
  from offset 0, and a week's retention would silently drop the older counts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

log = logging.getLogger("wushe.topics")
FOREVER = -1


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 3
    retention_ms: int | None = None  # None: the broker's default; -1: forever

    def configs(self) -> dict[str, str]:
        return {} if self.retention_ms is None else {"retention.ms": str(self.retention_ms)}


REGISTRY_TOPICS = tuple(
    TopicSpec(f"registry.{name}", retention_ms=FOREVER)
    for name in (
        "regions",
        "stations",
        "organisations",
        "social-workers",
        "programmes",
        "closed-months",
    )
)
PARTNER_TOPIC = TopicSpec("donations.partner", partitions=6, retention_ms=FOREVER)
PARTNER_FEED_PREFIX = "donations.partner-feed."
# Kafka's legal topic characters; a funder id is at most this long inside a topic name.
_TOPIC_CHARACTERS = re.compile(r"[A-Za-z0-9._-]{1,200}")


def partner_feed(funder_id: str) -> TopicSpec:
    """The topic holding one organisational funder's own records of the partner stream, the
    only topic its partner login may read (docs/decisions/0028-a-feed-per-partner.md). One
    partition: the funder's records keep the one order they have on the partner stream."""
    if not _TOPIC_CHARACTERS.fullmatch(funder_id) or funder_id.strip(".") != funder_id:
        raise ValueError(f"{funder_id!r} cannot name a Kafka topic")
    return TopicSpec(PARTNER_FEED_PREFIX + funder_id, partitions=1, retention_ms=FOREVER)


def partner_user(funder_id: str) -> str:
    """The partner's login on Kafka (a SCRAM user; a Strimzi `KafkaUser`)."""
    return f"partner-{funder_id}"


def partner_groups(funder_id: str) -> str:
    """The prefix of the consumer groups the partner may use. It ends in a dot: without one,
    `partner-dnr-1` would match the groups of `partner-dnr-12` too."""
    return partner_user(funder_id) + "."


def kept_forever(names: Iterable[str]) -> tuple[TopicSpec, ...]:
    """Specs keeping these topics forever (the views' sources: see the module docstring)."""
    return tuple(TopicSpec(name, retention_ms=FOREVER) for name in sorted(set(names)))


async def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec], replication: int = 1) -> None:
    """Create the topics that are missing; set the retention of those that exist."""
    specs = list(specs)
    if not specs:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:  # start inside: a cancelled start must still close what it opened
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(s.name, s.partitions, replication, topic_configs=s.configs())
                        for s in missing
                    ]
                )
            except KafkaError as exc:  # created concurrently by another instance: fine
                log.info("topic creation: %s", type(exc).__name__)
        present = [s for s in specs if s.name in existing and s.configs()]
        if present:
            await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, s.name, s.configs()) for s in present]
            )
    finally:
        await admin.close()


async def partitions_of(bootstrap: str, topic: str, **client_options: Any) -> list[int]:
    """The topic's partition numbers ([] when it does not exist, or may not be described
    with the login in `client_options`)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options)
    try:  # start inside: a cancelled start must still close what it opened
        await admin.start()
        # Describing a topic by name asks for it to be created where the broker creates
        # topics on demand (aiokafka's metadata request allows it): list first.
        if topic not in await admin.list_topics():
            return []
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    for t in described:
        if t.get("topic") == topic and not t.get("error_code"):
            return sorted(int(p["partition"]) for p in t.get("partitions", []))
    return []


async def group_size(bootstrap: str, group_id: str) -> int:
    """How many consumers are members of a group right now (0 when it has none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:  # start inside: a cancelled start must still close what it opened
        await admin.start()
        responses = await admin.describe_consumer_groups([group_id])
    finally:
        await admin.close()
    for response in responses:
        for group in response.to_object()["groups"]:
            if group["group"] == group_id:
                return len(group["members"])
    return 0
