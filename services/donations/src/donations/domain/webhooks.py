"""Webhooks for partner foundations (decision 0042, docs/webhooks.md): the rules, no I/O.

A foundation registers an HTTPS address; each record of its feed
(`donations.partner-feed.<funder id>`) is POSTed there, in the feed's order, as a CloudEvent
in structured content mode, signed as the Standard Webhooks specification says. Here: the
subscription as stored, which addresses are accepted, the body and its signature, how long to
wait before the next attempt and when to stop trying (park).
"""

from __future__ import annotations

import base64
import ipaddress
import json
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from wushe.contracts import Envelope
from wushe.errors import DomainError

SECRET_PREFIX = "whsec_"  # noqa: S105 (Standard Webhooks: the secret's prefix, not a secret)
SECRET_BYTES = 32
MEDIA_TYPE = "application/cloudevents+json"  # CloudEvents HTTP binding, structured mode
MAX_URL = 2000
LOOPBACK_NAMES = ("localhost", "localhost.")

Status = Literal["active", "parked"]


class Failure(BaseModel):
    """One attempt that failed: what the receiver answered (its HTTP status and the start of
    its body) or why there was no answer."""

    at: datetime
    position: int = Field(description="the feed offset of the record")
    event_id: str
    attempt: int = Field(description="1 for the record's first attempt")
    status: int | None = Field(None, description="the receiver's HTTP status, if it answered")
    error: str | None = Field(None, description="why there was no answer (timeout, refused …)")
    snippet: str | None = Field(None, description="the start of the receiver's answer")


class Subscription(BaseModel):
    """A foundation's webhook as stored. Where delivery stands: `position` is the last feed
    offset delivered (its CloudEvent id `event_id`), under the registration or replay named
    `position_rewind`; a replay names a new `rewind` that begins at `replay_from`."""

    subscription_id: str
    funder_id: str
    url: str
    description: str | None = None
    status: Status = "active"
    secret_enc: str  # sealed by the service's vault, bound to the subscription
    created_at: datetime
    rewind: str
    replay_from: int = 0
    position: int | None = None
    event_id: str | None = None
    delivered_at: datetime | None = None
    position_rewind: str | None = None
    # The record being retried: its offset, attempts so far, first failure, next attempt.
    retry_position: int | None = None
    attempts: int = 0
    failing_since: datetime | None = None
    next_attempt_at: datetime | None = None
    failures: list[Failure] = Field(default_factory=list)
    parked_at: datetime | None = None
    parked_reason: str | None = None

    @property
    def next_position(self) -> int:
        """The feed offset delivered next: after the last delivered one, or where the latest
        registration or replay begins."""
        if self.position_rewind != self.rewind or self.position is None:
            return self.replay_from
        return self.position + 1

    def attempts_at(self, position: int) -> tuple[int, datetime | None]:
        """The attempts already made at `position` and when they began failing (a record's
        retries go on where another replica left them, and count towards parking)."""
        if self.retry_position == position:  # a replay clears it
            return self.attempts, self.failing_since
        return 0, None


def secret_of(raw: bytes) -> str:
    """A signing secret in the Standard Webhooks form: `whsec_` and the key in base64."""
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def cloudevent(envelope: Envelope, position: int) -> bytes:
    """The record as one CloudEvent in structured content mode (`application/cloudevents+json`):
    the attributes its Kafka headers carry (`ce_*`, extensions included: `sequence`,
    `partitionkey` …), `datacontenttype`, the data, and `feedposition`, its offset on the feed
    (what a replay names). Trace context stays out: it is the platform's, not the event's."""
    attributes = {k[3:]: v for k, v in envelope.headers().items() if k.startswith("ce_")}
    event = {**attributes, "datacontenttype": "application/json", "feedposition": position}
    event["data"] = envelope.data
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def check_url(url: str, *, allow_loopback: bool) -> str:
    """The receiver's address, or a DomainError on `url`: https only, to a host of the public
    internet (an address inside a private network or the cluster would let a foundation make
    the service call it); `http` and loopback hosts only where `allow_loopback` (the local
    stack, tests). No user or password in it: the address is shown back to the caller."""
    url = url.strip()
    if len(url) > MAX_URL:
        raise DomainError("url", f"at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # a port out of range raises here
    except ValueError as exc:
        raise DomainError("url", f"not a URL: {exc}") from None
    if parts.scheme not in ("https", "http"):
        raise DomainError("url", "only https addresses are accepted")
    if not host:
        raise DomainError("url", "names no host")
    if parts.username is not None or parts.password is not None:
        raise DomainError("url", "must not hold a user name or password: the secret signs")
    if parts.fragment:
        raise DomainError("url", "must not hold a fragment (#…)")
    loopback = is_loopback(host)
    if loopback and not allow_loopback:
        raise DomainError("url", "a loopback host is not a receiver here")
    if parts.scheme == "http" and not loopback:
        raise DomainError("url", "only https addresses are accepted")
    if not loopback and not name_allowed(host):
        raise DomainError("url", f"{host} is not an address of the public internet")
    return url


def is_loopback(host: str) -> bool:
    host = host.lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def name_allowed(host: str) -> bool:
    """A host name (resolved when delivering: `address_allowed`), or a public IP address."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host.strip(".")  # a bare name would resolve inside the cluster
    return address.is_global


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    """Whether a resolved address may be connected to: a public one, or loopback where
    allowed. Checked on every delivery, so a name that later resolves into a private network
    is refused as well."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global


def backoff_s(attempt: int, *, first_s: float, cap_s: float, jitter: float) -> float:
    """The wait after the `attempt`-th failure: doubling from `first_s`, never above `cap_s`,
    and between half and all of that (`jitter` in [0, 1]), so receivers that failed together
    are not retried together. The cap keeps a receiver that was down for a minute from
    waiting long once it is back."""
    base = min(cap_s, first_s * 2.0 ** min(attempt - 1, 30))
    return base / 2 + base / 2 * min(max(jitter, 0.0), 1.0)


def park_reason(
    attempts: int,
    failing_since: datetime,
    now: datetime,
    *,
    max_attempts: int,
    max_failing_s: float,
) -> str | None:
    """Why delivery stops (the subscription is parked until a replay), or None to go on."""
    if attempts >= max_attempts:
        return f"{attempts} attempts failed"
    if now - failing_since >= timedelta(seconds=max_failing_s):
        return f"failing for {int((now - failing_since).total_seconds())} s"
    return None


def snippet(text: str, limit: int) -> str:
    """The start of an answer's body, on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
