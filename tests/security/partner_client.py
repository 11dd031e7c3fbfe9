"""A partner foundation's Kafka client, alone: log in to the partner listener with SCRAM and
read the first record of a feed in a consumer group of the partner's own.

Run outside the project, with only the client under test installed, e.g.
`uv run --no-project --with confluent-kafka==2.6.1 python partner_client.py confluent-kafka`
(`test_partner_clients.py` does so for the minimum versions of docs/partners.md). Settings
come from the environment: PARTNER_BOOTSTRAP, PARTNER_USER, PARTNER_PASSWORD, PARTNER_TOPIC,
PARTNER_GROUP, PARTNER_TIMEOUT_S. Prints one JSON line: the client's version and the first
record's key and CloudEvents id, or what went wrong (exit 1)."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import time
from importlib.metadata import version
from typing import Any

MECHANISM = "SCRAM-SHA-512"
PROTOCOL = "SASL_PLAINTEXT"  # production's partner listener adds TLS: SASL_SSL
SETTINGS = {
    name: os.environ[f"PARTNER_{name.upper()}"]
    for name in ("bootstrap", "user", "password", "topic", "group")
}
TIMEOUT_S = float(os.environ.get("PARTNER_TIMEOUT_S", "30"))
# kafka-python and aiokafka name their options alike.
PYTHON_OPTIONS = {
    "bootstrap_servers": SETTINGS["bootstrap"],
    "security_protocol": PROTOCOL,
    "sasl_mechanism": MECHANISM,
    "sasl_plain_username": SETTINGS["user"],
    "sasl_plain_password": SETTINGS["password"],
    "group_id": SETTINGS["group"],
    "auto_offset_reset": "earliest",
    "enable_auto_commit": False,
}


def found(key: bytes | None, headers: Any) -> dict[str, Any]:
    named = {k: v.decode() for k, v in headers or []}
    return {"key": (key or b"").decode(), "ce_id": named.get("ce_id"), "headers": sorted(named)}


def with_confluent_kafka() -> dict[str, Any]:
    from confluent_kafka import Consumer

    errors: list[str] = []
    consumer = Consumer(
        {
            "bootstrap.servers": SETTINGS["bootstrap"],
            "security.protocol": PROTOCOL,
            "sasl.mechanism": MECHANISM,
            "sasl.username": SETTINGS["user"],
            "sasl.password": SETTINGS["password"],
            "group.id": SETTINGS["group"],
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "error_cb": lambda err: errors.append(str(err)),
        }
    )
    try:
        consumer.subscribe([SETTINGS["topic"]])
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                errors.append(str(msg.error()))
                continue
            return found(msg.key(), msg.headers())
        raise RuntimeError("; ".join(dict.fromkeys(errors)) or "no record in time")
    finally:
        consumer.close()


def with_kafka_python() -> dict[str, Any]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        SETTINGS["topic"], consumer_timeout_ms=int(TIMEOUT_S * 1000), **PYTHON_OPTIONS
    )
    try:
        for record in consumer:
            return found(record.key, record.headers)
        raise RuntimeError("no record in time")
    finally:
        consumer.close()


async def with_aiokafka() -> dict[str, Any]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(SETTINGS["topic"], **PYTHON_OPTIONS)
    try:  # start inside: a refused start must still close what it opened
        await consumer.start()
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    return found(record.key, record.headers)
        raise RuntimeError("no record in time")
    finally:
        await consumer.stop()


CLIENTS = {
    "confluent-kafka": with_confluent_kafka,
    "kafka-python": with_kafka_python,
    "aiokafka": lambda: asyncio.run(with_aiokafka()),
}


def main(client: str) -> int:
    said: dict[str, Any] = {
        "client": client,
        "version": version(client),
        "python": platform.python_version(),
    }
    try:
        said.update(ok=True, **CLIENTS[client]())
    except Exception as exc:  # what the client said is the finding: print it, exit 1
        said.update(ok=False, error=f"{type(exc).__name__}: {exc}"[:2000])
    print(json.dumps(said, ensure_ascii=False))
    return 0 if said["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
