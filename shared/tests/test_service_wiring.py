"""Handler wiring of the shared service factory, on FastStream's in-memory test broker."""

from typing import Any

from faststream.kafka import TestKafkaBroker

from wushe import bus
from wushe.contracts import Envelope, Event, EventRegistry
from wushe.service import ServiceContext, create_service_app
from wushe.settings import ServiceSettings


class ThingNoted(Event, type="wiring.ThingNoted.v1", topic="wiring.things"):
    thing_id: str
    count: int


REGISTRY = EventRegistry()
REGISTRY.register(ThingNoted)


def build(received: list[Any]) -> Any:
    def register(ctx: ServiceContext) -> None:
        async def on_thing(event: Any, envelope: Envelope, delivery: bus.Delivery) -> None:
            received.append((event, envelope.id, delivery.topic))

        bus.subscribe(
            ctx.broker,
            ThingNoted.topic,
            group_id="wiring.test",
            handler=on_thing,
            registry=REGISTRY,
            retries=bus.Retries(retry_backoff_s=0),
        )

    settings = ServiceSettings(service_name="wiring")
    return create_service_app(settings, title="wiring", register_handlers=register)


async def test_subscribed_handler_receives_typed_events() -> None:
    received: list[Any] = []
    app = build(received)
    broker = app.state.ctx.broker
    env = Envelope.wrap(ThingNoted(thing_id="t1", count=2), source="/wushe/x", subject="t1")
    async with TestKafkaBroker(broker) as br:
        await br.publish(env.body(), topic=env.topic, key=env.key, headers=env.headers())
    assert received == [(ThingNoted(thing_id="t1", count=2), env.id, "wiring.things")]


async def test_unparseable_message_is_dead_lettered_not_handled() -> None:
    received: list[Any] = []
    app = build(received)
    broker = app.state.ctx.broker

    @broker.subscriber("wiring.things.dlq")
    async def dlq_spy(body: bytes) -> None:
        pass

    async with TestKafkaBroker(broker) as br:
        await br.publish(b"not an event", topic="wiring.things", key=b"k")
        dlq_spy.mock.assert_called_once()
    assert received == []
