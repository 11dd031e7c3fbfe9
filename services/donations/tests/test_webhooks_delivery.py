"""Webhooks on the real stack (decision 0042): a foundation's feed, POSTed to real HTTP
receivers on loopback by two replicas of the donations service.

One receiver answers 500 now and then, one is too slow once, one is down for a minute and
comes back: each gets every record of the feed, in the feed's order, each id at least once
and, de-duplicated by `webhook-id` as a receiver does, exactly once; every signature
verifies; only one replica delivers to a subscription at a time; the subscription shows
where delivery stands and the failures. With small limits a subscription that keeps failing
is parked (and counted), and a replay from a position delivers from there again."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from wushe.auth import DevKeys
from wushe.topics import group_size, partner_feed
from wushe.web import today
from wushe_dev import fixtures
from wushe_dev.devstack import LocalStack
from wushe_dev.devstack.config import free_port
from wushe_dev.testing import read_topic, serve, wait_for

DAY = str(today() - timedelta(days=1))
TIMEOUT_S = 5.0  # one attempt, all told (the service's default is 10 s)
SETTINGS = {
    "webhook_allow_loopback": True,
    "webhook_timeout_s": TIMEOUT_S,
    "webhook_scan_interval_s": 0.5,
}
Answer = Callable[[int], int | str]  # the n-th request (from 0) -> status, or "slow"


@dataclass
class Receiver:
    """A webhook receiver under uvicorn on loopback, answering as `answer` says: a status,
    or "slow" (it takes the event, then answers after the sender gave up). It takes each
    event it answers 2xx for (or that it took before answering late) and de-duplicates them
    by `webhook-id`, as docs/webhooks.md asks of a receiver."""

    secret: str = ""
    answer: Answer = lambda n: 200
    port: int = field(default_factory=free_port)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)  # webhook-ids, as they were taken
    unverified: list[str] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    server: uvicorn.Server | None = None
    task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/wushe"

    @property
    def events(self) -> list[str]:
        return list(dict.fromkeys(self.taken))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            action = self.answer(len(self.requests))
            self.requests.append((headers, body))
            if not verified(self.secret, headers, body):
                self.unverified.append(headers.get("webhook-id", "?"))
            elif action in (200, "slow"):
                self.taken.append(headers["webhook-id"])
            if action == "slow":
                await asyncio.sleep(TIMEOUT_S + 1)
            status = 200 if action == "slow" else int(action)
            text = "已收到" if status == 200 else "出错了：数据库暂不可用，请稍后重试 " * 40
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": text.encode()})
        finally:
            self.in_flight -= 1

    async def start(self) -> None:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve())

        async def up() -> bool:
            return bool(self.server and self.server.started)

        await wait_for(up, timeout_s=10, what="the receiver listening")

    async def stop(self) -> None:
        if self.server and self.task:
            self.server.should_exit = True
            await self.task

    def events_of(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.requests]


def verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The Standard Webhooks check of a request, by the library partners are pointed to: its
    signature, and a timestamp within five minutes."""
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


@pytest.fixture
async def replicas(
    stack: LocalStack, run_services: fixtures.RunServices, unique: str
) -> AsyncIterator[tuple[fixtures.Services, httpx.AsyncClient]]:
    """The registry and two replicas of the donations service (one database, one set of
    consumer groups)."""
    keys = DevKeys.generate()
    async with run_services("registry", "donations", keys=keys, **SETTINGS) as s:
        second = fixtures.service_app(stack, "donations", unique, keys, **SETTINGS)
        async with serve(second, "donations-2") as other:
            yield s, other


async def foundation(
    s: fixtures.Services, name: str, township: str = "360402001"
) -> tuple[str, str, dict[str, str]]:
    """A foundation with a pledge to a station: its funder id, the fund, its own token."""
    reg, don, h = s["registry"], s["donations"], s.bearer("36", "jx-officer")
    station = await fixtures.new_station(reg, h, township)
    await fixtures.copied(s.apps["donations"], [station])
    body = {"kind": "foundation", "region_code": "36", "display_name": name}
    funder = str((await fixtures.created(don, "/donors", h, body))["donor_id"])
    pledge = {
        "donor_id": funder,
        "station_id": station,
        "amount_fen": 1_000_000,
        "period_start": DAY,
        "period_end": str(today() + timedelta(days=60)),
    }
    fund = (await money(don, h, "/pledges", pledge))["fund_id"]
    token = s.keys.issue(subject=f"fdn-{funder}", roles=["funder"], funder_id=funder)
    return funder, fund, {"Authorization": f"Bearer {token}"}


async def money(don: httpx.AsyncClient, h: dict[str, str], path: str, body: Any) -> Any:
    r = await don.post(path, headers={**h, "Idempotency-Key": uuid.uuid4().hex}, json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def gifts(s: fixtures.Services, fund: str, n: int) -> None:
    h = s.bearer("36", "jx-officer")
    for _ in range(n):
        body = {"kind": "cash", "amount_fen": 1_000, "receipt_no": uuid.uuid4().hex[:8]}
        await money(s["donations"], h, f"/pledges/{fund}/gifts", {**body, "received_on": DAY})


async def feed(stack: LocalStack, funder: str, at_least: int) -> list[tuple[int, str]]:
    """The feed as Kafka holds it, once it holds `at_least` records: (offset, CloudEvent id)
    in order."""
    records: list[Any] = []

    async def filled() -> bool:  # (the feed is made with its funder's first record)
        records[:] = await read_topic(
            stack.cfg.kafka_bootstrap, partner_feed(funder).name, expect=at_least, timeout_s=5
        )
        return len(records) >= at_least

    await wait_for(filled, timeout_s=30, what=f"{at_least} records on the feed")
    return [(r.offset, dict(r.headers)["ce_id"].decode()) for r in records]


async def subscribe(don: httpx.AsyncClient, h: dict[str, str], receiver: Receiver) -> str:
    r = await don.post("/webhooks", headers=h, json={"url": receiver.url, "description": "测试"})
    assert r.status_code == 201, r.text
    receiver.secret = r.json()["secret"]
    assert receiver.secret.startswith("whsec_")
    return str(r.json()["subscription_id"])


async def all_arrive(
    stack: LocalStack, funder: str, receivers: list[Receiver], at_least: int, timeout_s: float
) -> list[tuple[int, str]]:
    """Wait until each receiver took every event of the feed (at least `at_least` records)."""
    seen: list[list[tuple[int, str]]] = [[]]

    async def arrived() -> bool:
        seen[0] = await feed(stack, funder, at_least)
        ids = list(dict.fromkeys(i for _, i in seen[0]))
        return all(r.events == ids for r in receivers)

    await wait_for(arrived, timeout_s=timeout_s, interval_s=1, what="every event at each receiver")
    return seen[0]


async def test_every_receiver_gets_the_whole_feed_in_order_through_failures(
    stack: LocalStack, replicas: tuple[fixtures.Services, httpx.AsyncClient], unique: str
) -> None:
    s, other = replicas
    don = s["donations"]
    funder, fund, as_funder = await foundation(s, "江西省某慈善基金会")
    flaky = Receiver(answer=lambda n: 500 if n in (0, 3) else 200)
    slow = Receiver(answer=lambda n: "slow" if n == 1 else 200)
    away = Receiver()
    for receiver in (flaky, slow, away):
        await receiver.start()
    try:
        subs = [await subscribe(don, as_funder, r) for r in (flaky, slow, away)]
        await gifts(s, fund, 3)  # with the pledge: four records at least
        before = await all_arrive(stack, funder, [flaky, slow, away], 4, timeout_s=60)

        # Down for a minute while three more gifts come; then back.
        await away.stop()
        down_at = asyncio.get_running_loop().time()
        await gifts(s, fund, 3)
        await all_arrive(stack, funder, [flaky, slow], len(before) + 3, timeout_s=60)

        async def state() -> Any:
            return (await other.get(f"/webhooks/{subs[2]}", headers=as_funder)).json()

        failing = await fixtures.eventually(
            state, lambda w: w["retrying"] is not None, what="the failures shown"
        )
        assert failing["retrying"]["position"] == len(before), failing  # the first it lacks
        assert failing["position"] == len(before) - 1, failing
        assert failing["pending"] >= 3, failing
        assert {f["error"] for f in failing["failures"]} == {"connection refused"}
        await asyncio.sleep(max(0.0, 60 - (asyncio.get_running_loop().time() - down_at)))
        away.requests.clear()  # (a server of its own again: its answers count from 0)
        await away.start()
        back = asyncio.get_running_loop().time()
        records = await all_arrive(
            stack, funder, [flaky, slow, away], len(before) + 3, timeout_s=45
        )
        # the backoff is capped at 30 s (with jitter): back, the records came soon
        assert asyncio.get_running_loop().time() - back < 40

        ids = list(dict.fromkeys(i for _, i in records))
        for receiver in (flaky, slow, away):
            assert receiver.unverified == []
            assert receiver.events == ids  # each once, de-duplicated, in the feed's order
            events = receiver.events_of()
            # every request, retries too, in the feed's order: never a later record first
            positions = [e["feedposition"] for e in events]
            assert positions == sorted(positions)
            by_offset = dict(records)
            for (headers, _), event in zip(receiver.requests, events, strict=True):
                assert event["id"] == headers["webhook-id"] == by_offset[event["feedposition"]]
                assert headers["content-type"].startswith("application/cloudevents+json")
                assert event["specversion"] == "1.0"
                assert event["partitionkey"] == event["data"]["funder_id"] == funder
                assert {"source", "type", "subject", "time", "sequence"} <= set(event)
        # The event the slow one took and answered late came again; the 500s were retried.
        # (More repeats are allowed: a loaded machine may time out an attempt more.)
        assert len(slow.taken) > len(ids)
        assert len(flaky.requests) >= len(ids) + 2
        for receiver in (flaky, away):  # one replica at a time (the slow one overlaps itself)
            assert receiver.most_in_flight == 1

        # Where each stands, as the foundation sees it (from either replica).
        last_offset, last_id = records[-1]
        for sub, kind in zip(subs, ("status", "timeout", "refused"), strict=True):
            got = (await other.get(f"/webhooks/{sub}", headers=as_funder)).json()
            assert (got["status"], got["position"], got["event_id"]) == (
                "active",
                last_offset,
                last_id,
            ), got
            assert (got["pending"], got["retrying"], got["next_position"]) == (
                0,
                None,
                last_offset + 1,
            )
            failures = got["failures"]
            if kind == "status":
                failure = failures[0]
                assert (failure["status"], failure["position"], failure["attempt"]) == (500, 0, 1)
                assert failure["snippet"].startswith("出错了：数据库暂不可用")
                assert len(failure["snippet"]) <= 200
            elif kind == "timeout":
                assert f"timed out after {TIMEOUT_S:g} s" in {f["error"] for f in failures}
            else:
                refused = [f for f in failures if f["error"] == "connection refused"]
                assert len(refused) >= 4, failures
            assert "secret" not in got
        listed = (await don.get("/webhooks", headers=as_funder)).json()
        assert sorted(w["subscription_id"] for w in listed["items"]) == sorted(subs)

        # Both replicas are in each subscription's group; the partition is one's alone.
        group = s.apps["donations"].state.ctx.settings.webhook_group
        for sub in subs:
            assert await group_size(stack.cfg.kafka_bootstrap, f"{group}.{sub}") == 2
    finally:
        for receiver in (flaky, slow, away):
            await receiver.stop()


async def test_who_may_register_what_and_see_whose(
    replicas: tuple[fixtures.Services, httpx.AsyncClient],
) -> None:
    s, _ = replicas
    don = s["donations"]
    _, _, as_funder = await foundation(s, "江西省某慈善基金会")
    _, _, as_other = await foundation(s, "赣州某公益基金会", "360702004")
    receiver = Receiver()
    sub = await subscribe(don, as_funder, receiver)

    for url, reason in [
        ("http://hooks.example.org/wushe", "only https"),
        ("https://10.1.2.3/hook", "public internet"),
        ("https://user:pw@hooks.example.org/", "user name or password"),
    ]:
        r = await don.post("/webhooks", headers=as_funder, json={"url": url})
        problem = r.json()
        assert (r.status_code, problem["field"]) == (422, "url"), r.text
        assert reason in problem["detail"]
    # An official's token: a foundation's integration is not theirs to make or read.
    official = s.bearer("36", "jx-officer")
    r = await don.post("/webhooks", headers=official, json={"url": receiver.url})
    assert r.status_code == 403, r.text
    assert (await don.get(f"/webhooks/{sub}", headers=official)).status_code == 404
    # Another foundation: nothing of the first's, answered as if it did not exist.
    missing = "whk-" + "0" * 20
    for method, path, body in [
        ("GET", "/webhooks/{}", None),
        ("POST", "/webhooks/{}/replay", {"from_position": 0}),
        ("DELETE", "/webhooks/{}", None),
    ]:
        theirs = await don.request(method, path.format(sub), headers=as_other, json=body)
        absent = await don.request(method, path.format(missing), headers=as_other, json=body)
        assert (theirs.status_code, absent.status_code) == (404, 404), theirs.text
        assert theirs.text == absent.text.replace(missing, sub)
    assert (await don.get("/webhooks", headers=as_other)).json() == {"items": [], "total": 0}
    assert (await don.get(f"/webhooks/{sub}", headers=as_funder)).status_code == 200
    # A funder id with no feed (a token naming no foundation) registers nothing.
    nobody = s.keys.issue(subject="fdn-x", roles=["funder"], funder_id="dnr-" + "f" * 20)
    r = await don.post(
        "/webhooks", headers={"Authorization": f"Bearer {nobody}"}, json={"url": receiver.url}
    )
    assert (r.status_code, r.json()["field"]) == (422, "funder_id"), r.text


async def test_a_failing_receiver_is_parked_and_a_replay_delivers_from_a_position(
    stack: LocalStack, run_services: fixtures.RunServices
) -> None:
    limits = {**SETTINGS, "webhook_park_after_attempts": 3}
    async with run_services("registry", "donations", **limits) as s:
        don = s["donations"]
        funder, fund, as_funder = await foundation(s, "江西省某慈善基金会")
        await gifts(s, fund, 2)
        records = await feed(stack, funder, 3)
        failing = {"now": True}
        receiver = Receiver(answer=lambda n: 503 if failing["now"] else 200)
        await receiver.start()
        try:
            sub = await subscribe(don, as_funder, receiver)

            async def parked() -> Any:
                return (await don.get(f"/webhooks/{sub}", headers=as_funder)).json()

            got = await fixtures.eventually(
                parked, lambda w: w["status"] == "parked", what="the subscription parked"
            )
            assert got["parked_reason"] == "3 attempts failed"
            assert [(f["attempt"], f["status"], f["position"]) for f in got["failures"]] == [
                (1, 503, 0),
                (2, 503, 0),
                (3, 503, 0),
            ]
            assert (got["position"], got["next_position"]) == (None, 0)
            retrying = got["retrying"]
            assert (retrying["position"], retrying["attempts"]) == (0, 3), retrying
            assert retrying["next_attempt_at"] is None  # none: parked
            await asyncio.sleep(2.5)  # parked: nothing more is tried
            assert len(receiver.requests) == 3

            async def counted() -> bool:
                text = (await don.get("/metrics")).text
                return "wushe_webhooks_parked 1.0" in text

            await wait_for(counted, timeout_s=10, what="the parked subscription counted")
            metrics = (await don.get("/metrics")).text
            assert 'wushe_webhook_deliveries_total{outcome="failed"} 3.0' in metrics

            # Replay from offset 1: active again, offsets 1 and 2 arrive.
            failing["now"] = False
            too_far = await don.post(
                f"/webhooks/{sub}/replay", headers=as_funder, json={"from_position": 99}
            )
            assert (too_far.status_code, too_far.json()["field"]) == (422, "from_position")
            r = await don.post(
                f"/webhooks/{sub}/replay", headers=as_funder, json={"from_position": 1}
            )
            assert r.status_code == 200, r.text
            assert (r.json()["status"], r.json()["next_position"]) == ("active", 1)
            ids = [i for _, i in records]

            async def taken(n: int) -> bool:
                return len(receiver.taken) >= n

            await wait_for(lambda: taken(2), timeout_s=30, what="the replay delivered")
            assert receiver.taken == ids[1:3]
            # Again from 0, while active: everything once more, in order.
            await don.post(f"/webhooks/{sub}/replay", headers=as_funder, json={"from_position": 0})
            await wait_for(lambda: taken(5), timeout_s=30, what="the second replay delivered")
            assert receiver.taken == ids[1:3] + ids[:3]
            done = (await don.get(f"/webhooks/{sub}", headers=as_funder)).json()
            assert (done["position"], done["event_id"], done["pending"]) == (2, ids[2], 0)
            assert len(done["failures"]) == 3  # the history stays

            # Deleted: gone, and nothing more is delivered.
            r = await don.delete(f"/webhooks/{sub}", headers=as_funder)
            assert r.status_code == 200, r.text
            assert r.json()["deleted"] is True
            assert (await don.get(f"/webhooks/{sub}", headers=as_funder)).status_code == 404
            await gifts(s, fund, 1)
            await feed(stack, funder, 4)
            await asyncio.sleep(2)
            assert len(receiver.taken) == 5
        finally:
            await receiver.stop()
