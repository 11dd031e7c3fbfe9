"""A relay or consumer in its own process, so integration tests can really crash it (SIGKILL).

    python worker.py '<json config>'

mode=relay:    publish every unpublished commit of store `aggregate`; with crash_after_publish
               the process kills itself after Kafka confirmed the batch, before marking it.
mode=consumer: consume `topic` in `group`, recording each event once through the Inbox; with
               kill_at=N it kills itself at the N-th delivery, `kill_when` "before_write" or
               "after_write" (after the effect, before the offset commit). Exits once
               `expect` distinct events are recorded.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

from wushe import bus
from wushe.store import EventStore, Inbox, Relay, create_mongo_client
from wushe_dev.testing import probe_event


def crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def relay(cfg: dict[str, Any]) -> None:
    broker = bus.create_broker(cfg["bootstrap"], client_id="test-relay")
    mongo = create_mongo_client(cfg["mongo_url"])
    store = EventStore(mongo[cfg["db"]], cfg["aggregate"], source="/wushe/test")
    hook = (lambda _ids: crash()) if cfg.get("crash_after_publish") else None
    await broker.start()
    published = await Relay(
        [store], lambda envs: bus.publish_envelopes(broker, envs), after_publish=hook
    ).publish_pending()
    print(json.dumps({"published": published}), flush=True)
    await broker.stop()
    await mongo.close()


async def consumer(cfg: dict[str, Any]) -> None:
    _, registry = probe_event(cfg["topic"])
    mongo = create_mongo_client(cfg["mongo_url"])
    inbox = Inbox(mongo[cfg["db"]], cfg["group"])
    broker = bus.create_broker(cfg["bootstrap"], client_id="test-consumer")
    deliveries = 0
    done = asyncio.Event()

    async def handle(event: Any, envelope: Any, delivery: bus.Delivery) -> None:
        nonlocal deliveries
        deliveries += 1
        if deliveries == cfg.get("kill_at") and cfg.get("kill_when") == "before_write":
            crash()
        await inbox.record_once(
            envelope.id, {"n": event.n, "offset": delivery.offset, "partition": delivery.partition}
        )
        if deliveries == cfg.get("kill_at") and cfg.get("kill_when") == "after_write":
            crash()
        if await inbox.collection.count_documents({"consumer": cfg["group"]}) >= cfg["expect"]:
            done.set()

    bus.subscribe(broker, cfg["topic"], group_id=cfg["group"], handler=handle, registry=registry)
    await broker.start()
    try:
        await asyncio.wait_for(done.wait(), cfg.get("timeout_s", 60))
        await asyncio.sleep(0.5)  # let the last ack's commit finish
    finally:
        await broker.stop()
        await mongo.close()
    print(json.dumps({"deliveries": deliveries}), flush=True)


if __name__ == "__main__":
    config = json.loads(sys.argv[1])
    asyncio.run({"relay": relay, "consumer": consumer}[config["mode"]](config))
