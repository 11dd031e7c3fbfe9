"""Partner access on Kafka: the local broker runs a SASL/SCRAM listener for partner
foundations with KRaft's standard authorizer. A partner's login reads its own feed with its
own consumer groups, and nothing else: not the shared partner stream (every funder's money),
not another partner's feed, not an internal topic, not another group, no writes; a wrong
password gets nothing at all, and neither does a revoked partner (docs/decisions/0013,
0028)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from wushe.contracts.events.donations import PARTNER
from wushe.contracts.events.registry import STATIONS
from wushe.topics import (
    PARTNER_TOPIC,
    REGISTRY_TOPICS,
    ensure_topics,
    partitions_of,
    partner_feed,
)
from wushe_dev import partner
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import wait_for


async def publish(stack: LocalStack, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.cfg.kafka_bootstrap)
    await producer.start()
    try:
        headers = [("ce_type", b"donations.PledgeMade.v1"), ("ce_sequence", b"00000001")]
        await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def first_batch(consumer: AIOKafkaConsumer) -> list[Any]:
    """Records of one fetch within 20 s (raises what the broker refused)."""
    records: list[Any] = []

    async def fetched() -> bool:
        batch = await consumer.getmany(timeout_ms=500)
        records.extend(r for recs in batch.values() for r in recs)
        return bool(records)

    await wait_for(fetched, timeout_s=20, what="records")
    return records


async def read_in_group(consumer: AIOKafkaConsumer) -> None:
    try:  # start inside: a refused start must still close what it opened
        await consumer.start()
        await first_batch(consumer)
    finally:
        await consumer.stop()


def grant_the_shared_stream(stack: LocalStack, user: str) -> None:
    """The grant every partner had before decision 0028: Read on the shared stream."""
    stack._kafka_admin(
        "org.apache.kafka.tools.AclCommand",
        ["--add", "--force", "--allow-principal", f"User:{user}"],
        ["--operation", "Read", "--topic", PARTNER],
        what="the pre-0028 grant",
    )


async def test_a_partner_reads_only_its_own_feed_with_its_own_groups(
    stack: LocalStack, unique: str
) -> None:
    foundation, other = f"dnr-{unique}", f"dnr-{unique}-other"
    feed, others_feed = partner_feed(foundation), partner_feed(other)
    password = secrets.token_urlsafe(24)
    # Granted under the old rule first: granting again revokes the shared stream.
    await asyncio.to_thread(grant_the_shared_stream, stack, f"partner-{foundation}")
    user = await asyncio.to_thread(stack.grant_partner, foundation, password)
    assert user == f"partner-{foundation}"
    login = partner.Credentials(user, password)
    with_login = {"bootstrap_servers": stack.cfg.partner_bootstrap, **login.client_options()}
    await ensure_topics(stack.cfg.kafka_bootstrap, [PARTNER_TOPIC, others_feed, *REGISTRY_TOPICS])
    body = b'{"fund_id": "f-1", "amount_fen": 500000}'
    await publish(stack, feed.name, foundation.encode(), body)
    await publish(stack, others_feed.name, other.encode(), b'{"fund_id": "f-2", "amount_fen": 7}')
    await publish(stack, PARTNER, other.encode(), b'{"fund_id": "f-2", "amount_fen": 7}')
    await publish(stack, STATIONS, b"st-x", b'{"internal": true}')

    # The reference consumer, as the partner: its own pledge, from the partner listener.
    ledger = await partner.follow(
        stack.cfg.partner_bootstrap, partner.PartnerLedger(foundation), credentials=login
    )
    assert ledger.totals()["pledged_fen"] == 500000

    # Its own consumer group on its feed: reads and commits.
    own = AIOKafkaConsumer(
        feed.name, group_id=f"{user}.ledger", auto_offset_reset="earliest", **with_login
    )
    await own.start()
    try:
        assert any(r.key == foundation.encode() for r in await first_batch(own))
        await own.commit()
    finally:
        await own.stop()

    # The shared stream, another partner's feed, an internal topic: refused, even with its
    # own group.
    for topic in (PARTNER, others_feed.name, STATIONS):
        refused = AIOKafkaConsumer(
            topic, group_id=f"{user}.peek", auto_offset_reset="earliest", **with_login
        )
        with pytest.raises(TopicAuthorizationFailedError):
            await read_in_group(refused)
    # Nor may it see the other feed's partitions, to assign them without a group.
    assert await partitions_of(stack.cfg.kafka_bootstrap, others_feed.name) == [0]
    assert (
        await partitions_of(stack.cfg.partner_bootstrap, others_feed.name, **login.client_options())
        == []
    )

    # Its feed in a group that is not its own (another partner's, the projector's).
    for group in (f"partner-{other}.ledger", "views"):
        foreign = AIOKafkaConsumer(
            feed.name, group_id=group, auto_offset_reset="earliest", **with_login
        )
        with pytest.raises(GroupAuthorizationFailedError):
            await read_in_group(foreign)

    # No writes, not even to its feed.
    producer = AIOKafkaProducer(**with_login)
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(feed.name, b"forged", key=foundation.encode())
    finally:
        await producer.stop()

    # A wrong password: no connection at all.
    wrong = partner.Credentials(user, password + "x").client_options()
    stranger = AIOKafkaConsumer(
        feed.name, bootstrap_servers=stack.cfg.partner_bootstrap, request_timeout_ms=5000, **wrong
    )
    with pytest.raises(KafkaError):
        await stranger.start()
    await stranger.stop()

    # Offboarded: the right password no longer logs in; a second revoke changes nothing.
    for _ in range(2):
        assert await asyncio.to_thread(stack.revoke_partner, foundation) == user
    gone = AIOKafkaConsumer(
        feed.name, group_id=f"{user}.ledger", request_timeout_ms=5000, **with_login
    )
    with pytest.raises(KafkaError):
        await gone.start()
    await gone.stop()
    assert await partitions_of(stack.cfg.kafka_bootstrap, feed.name) == [0]  # the feed is kept


def test_a_funder_id_that_cannot_name_a_topic_gets_no_feed() -> None:
    for bad in ("", "a/b", "..", "资助方", "x" * 201, ".hidden"):
        with pytest.raises(ValueError, match="cannot name a Kafka topic"):
            partner_feed(bad)
    assert partner_feed("dnr-0123abcd").name == "donations.partner-feed.dnr-0123abcd"
