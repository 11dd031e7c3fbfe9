"""The webhooks' rules without a stack (decision 0042): which receivers are accepted, the
signature (a vector made by the standardwebhooks library itself), the CloudEvent body, the
backoff and when a subscription is parked; and the one POST, against real sockets on
loopback (an answer, a refusal, a silence, an address that is not allowed)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from donations import outbound
from donations.domain import webhooks as rules
from donations.domain.webhooks import Failure, Subscription
from donations.webhook_delivery import signed_headers
from wushe.contracts import Envelope
from wushe.errors import DomainError

# Made with standardwebhooks 1.1.0 (`Webhook(SECRET).sign("evt-1", 1767225600 as a UTC
# datetime, BODY)`): an independent implementation's answer for the same inputs.
SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
BODY = '{"specversion":"1.0","id":"evt-1","data":{"fund_id":"plg-1","note":"捐赠"}}'
SIGNED = "v1,/PoZLkGucJQdBTrZK0iphHa5vL+SXCuTYsjDHZNkLMw="


def test_the_signature_is_the_standard_webhooks_one() -> None:
    headers = dict(signed_headers(SECRET, "evt-1", BODY.encode(), 1767225600))
    assert headers["webhook-signature"] == SIGNED
    assert (headers["webhook-id"], headers["webhook-timestamp"]) == ("evt-1", "1767225600")
    other = dict(signed_headers(SECRET, "evt-2", BODY.encode(), 1767225600))
    assert other["webhook-signature"] != SIGNED
    secret = rules.secret_of(bytes(range(32)))
    assert secret == SECRET


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.org/wushe",
        "https://hooks.example.org:8443/a/b?partner=1",
        "https://93.184.215.14/hook",
    ],
)
def test_public_https_receivers_are_accepted(url: str) -> None:
    assert rules.check_url(url, allow_loopback=False) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.org/wushe", "only https"),
        ("ftp://hooks.example.org/", "only https"),
        ("https:///path-only", "names no host"),
        ("https://user:pass@hooks.example.org/", "user name or password"),
        ("https://hooks.example.org/#frag", "fragment"),
        ("https://10.1.2.3/hook", "public internet"),
        ("https://192.168.1.10/hook", "public internet"),
        ("https://169.254.169.254/latest/meta-data", "public internet"),  # cloud metadata
        ("https://[fd00::1]/hook", "public internet"),
        ("https://kafka/hook", "public internet"),  # a bare name resolves in the cluster
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost:8443/hook", "loopback"),
        ("http://[::1]:9000/hook", "loopback"),
        ("https://hooks.example.org:99999/", "not a URL"),
        ("https://" + "a" * 2000 + ".org/", "at most"),
    ],
)
def test_other_receivers_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(DomainError) as refused:
        rules.check_url(url, allow_loopback=False)
    assert refused.value.field == "url"
    assert reason in refused.value.reason


def test_loopback_receivers_only_where_allowed() -> None:
    for url in ("http://127.0.0.1:8080/hook", "https://localhost/hook", "http://[::1]:9000/h"):
        assert rules.check_url(url, allow_loopback=True) == url
    with pytest.raises(DomainError, match="only https"):
        rules.check_url("http://hooks.example.org/", allow_loopback=True)
    with pytest.raises(DomainError, match="public internet"):
        rules.check_url("https://10.0.0.8/", allow_loopback=True)


def test_resolved_addresses_outside_the_public_internet_are_refused() -> None:
    assert rules.address_allowed("93.184.215.14", allow_loopback=False)
    assert rules.address_allowed("2606:2800:21f:cb07:6820:80da:af6b:8b2c", allow_loopback=False)
    for address in ("10.0.0.1", "172.16.5.4", "192.168.0.1", "169.254.169.254", "100.64.0.1"):
        assert not rules.address_allowed(address, allow_loopback=True), address
    assert not rules.address_allowed("::ffff:10.0.0.1", allow_loopback=False)  # mapped
    assert not rules.address_allowed("127.0.0.1", allow_loopback=False)
    assert rules.address_allowed("127.0.0.1", allow_loopback=True)
    assert rules.address_allowed("::1", allow_loopback=True)


def test_the_backoff_doubles_with_jitter_and_never_passes_the_cap() -> None:
    def wait(attempt: int, jitter: float) -> float:
        return rules.backoff_s(attempt, first_s=1.0, cap_s=30.0, jitter=jitter)

    assert [wait(n, 1.0) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert [wait(n, 0.0) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 15, 15]
    assert wait(3, 0.5) == 3.0
    assert wait(10_000, 1.0) == 30.0  # no overflow, however long it failed
    # A receiver down for a minute: tried at least every 30 s, so it gets its records at
    # most 30 s after it is back, whatever the jitter.
    assert max(wait(n, j) for n in range(1, 200) for j in (0.0, 0.3, 1.0)) <= 30.0


def test_parking_after_the_attempts_or_the_time() -> None:
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

    def reason(attempts: int, after_s: float) -> str | None:
        now = start + timedelta(seconds=after_s)
        return rules.park_reason(attempts, start, now, max_attempts=5, max_failing_s=600)

    assert reason(4, 599) is None
    assert reason(5, 10) == "5 attempts failed"
    assert reason(2, 600) == "failing for 600 s"


def envelope() -> Envelope:
    return Envelope(
        id="evt-7",
        source="/wushe/donations",
        type="donations.GiftReceived.v1",
        subject="plg-1",
        time=datetime(2026, 12, 1, 2, 3, 4, tzinfo=UTC),
        topic="donations.partner-feed.dnr-1",
        data={"fund_id": "plg-1", "funder_id": "dnr-1", "amount_fen": 100},
        sequence="0000000003.0000",
        partitionkey="dnr-1",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )


def test_the_body_is_a_structured_cloudevent_with_the_kafka_headers_attributes() -> None:
    event = json.loads(rules.cloudevent(envelope(), 41))
    assert event == {
        "specversion": "1.0",
        "id": "evt-7",
        "source": "/wushe/donations",
        "type": "donations.GiftReceived.v1",
        "subject": "plg-1",
        "time": "2026-12-01T02:03:04Z",
        "datacontenttype": "application/json",
        "sequence": "0000000003.0000",
        "partitionkey": "dnr-1",
        "feedposition": 41,
        "data": {"fund_id": "plg-1", "funder_id": "dnr-1", "amount_fen": 100},
    }


def test_where_delivery_stands() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    registered = {"subscription_id": "whk-1", "funder_id": "dnr-1", "secret_enc": "x"}
    where = {"url": "https://hooks.example.org/", "rewind": "r1", "replay_from": 3}
    sub = Subscription(**registered, **where, created_at=now)
    assert sub.next_position == 3  # registered from offset 3, nothing delivered yet
    done = sub.model_copy(update={"position": 9, "position_rewind": "r1"})
    assert done.next_position == 10
    replayed = done.model_copy(update={"rewind": "r2", "replay_from": 0})
    assert replayed.next_position == 0  # until the feeder delivers under the replay
    failing = done.model_copy(update={"retry_position": 10, "attempts": 4, "failing_since": now})
    assert failing.attempts_at(10) == (4, now)
    assert failing.attempts_at(11) == (0, None)
    failure = Failure(at=now, position=10, event_id="e", attempt=4, status=500, snippet="oops")
    assert failure.error is None


# --------------------------------------------------------------------------- one POST

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serving(handler: Handler) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


async def test_a_post_reports_the_status_and_the_start_of_the_answer() -> None:
    seen: list[tuple[bytes, bytes]] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        text = "服务器内部错误 " * 400
        payload = text.encode()
        writer.write(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: "
            + str(len(payload)).encode()
            + b"\r\n\r\n"
            + payload
        )
        await writer.drain()
        writer.close()

    async for port in serving(answer):
        got = await outbound.post(
            f"http://127.0.0.1:{port}/hook?x=1",
            b'{"a":1}',
            [("webhook-id", "evt-1")],
            timeout_s=5,
            allow_loopback=True,
        )
    assert (got.status, got.ok, got.error) == (500, False, None)
    assert 0 < len(got.body) <= 1024  # a snippet of the answer, not all of it
    head, body = seen[0]
    assert head.startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
    assert b"\r\nwebhook-id: evt-1\r\n" in head.lower()
    assert body == b'{"a":1}'


async def test_a_post_that_gets_no_answer_times_out_and_a_closed_port_is_refused() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)

    async for port in serving(silent):
        got = await outbound.post(
            f"http://127.0.0.1:{port}/", b"{}", [], timeout_s=0.5, allow_loopback=True
        )
    assert (got.status, got.error) == (None, "timed out after 0.5 s")
    closed = await outbound.post(
        f"http://127.0.0.1:{port}/", b"{}", [], timeout_s=2, allow_loopback=True
    )
    assert (closed.status, closed.error) == (None, "connection refused")


async def test_a_post_never_connects_to_an_address_that_is_not_allowed() -> None:
    reached: list[bool] = []

    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reached.append(True)
        writer.close()

    async for port in serving(ok):
        got = await outbound.post(
            f"https://localhost:{port}/", b"{}", [], timeout_s=2, allow_loopback=False
        )
    assert got.error is not None
    assert "refused" in got.error
    assert reached == []
