"""Webhooks: a partner foundation's own feed, POSTed to its HTTPS receiver (decision 0042,
docs/webhooks.md), for a foundation that runs no Kafka consumer.

Only a foundation's token (`funder`, with its `funder_id`) registers, reads, replays and
deletes subscriptions, and only its own: another foundation's subscription answers exactly
as one that does not exist. Officials and auditors have no view of them either: a
subscription is the foundation's integration (an address and a secret), not money, and what
it delivers is the feed they may already read as reconciliation.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from donations import domain
from donations.domain import webhooks as rules
from donations.domain.webhooks import Failure, Status, Subscription
from donations.settings import DonationsSettings
from donations.store import DonationsStore, WebhookStore
from donations.webhook_delivery import feed_end, vault_secret
from wushe.auth import CurrentPrincipal, Principal
from wushe.errors import DomainError, NotFound, RoleRefused
from wushe.pii import Vault
from wushe.service import ServiceContext
from wushe.topics import ensure_topics, partner_feed
from wushe.web import Strict

router = APIRouter(tags=["webhooks"])


@dataclass(frozen=True)
class Webhooks:
    """What the webhook routes reach (`app.state.webhooks`)."""

    store: WebhookStore
    donations: DonationsStore
    vault: Vault
    settings: DonationsSettings

    @classmethod
    def of(cls, ctx: ServiceContext[DonationsSettings]) -> Webhooks:
        return cls(WebhookStore(ctx), DonationsStore(ctx), ctx.vault(), ctx.settings)


async def get_webhooks(request: Request) -> Webhooks:
    svc: Webhooks = request.app.state.webhooks
    return svc


Svc = Annotated[Webhooks, Depends(get_webhooks)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such subscription of the caller's"}
}


class WebhookIn(Strict):
    url: str = Field(
        max_length=rules.MAX_URL,
        description="the receiver: https:// on the public internet (http:// and loopback"
        " hosts only where the service allows them: the local stack, tests)",
    )
    description: str | None = Field(None, max_length=200, description="what it is, for you")
    from_position: int = Field(
        0, ge=0, description="the feed offset to begin at: 0 (the default) is the whole feed"
    )


class ReplayIn(Strict):
    from_position: int = Field(ge=0, description="the feed offset to deliver again from")


class Retry(BaseModel):
    position: int = Field(description="the feed offset being retried")
    attempts: int
    failing_since: datetime
    next_attempt_at: datetime | None


class WebhookOut(BaseModel):
    subscription_id: str
    url: str
    description: str | None
    status: Status = Field(description="active, or parked: retries ran out; a replay resumes")
    created_at: datetime
    position: int | None = Field(description="the last feed offset delivered (None: none yet)")
    event_id: str | None = Field(description="its CloudEvent id (the webhook-id header)")
    delivered_at: datetime | None
    next_position: int = Field(description="the feed offset delivered next")
    pending: int | None = Field(
        description="records on the feed from next_position on (None: the feed's end unread)"
    )
    retrying: Retry | None = Field(description="the record being retried, if one fails")
    parked_at: datetime | None
    parked_reason: str | None
    failures: list[Failure] = Field(description="the recent failed attempts, the latest last")


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="whsec_…: the key of the webhook-signature header (Standard Webhooks)."
        " Shown this once: keep it where the receiver verifies signatures"
    )


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    total: int


class WebhookDeleted(BaseModel):
    subscription_id: str
    deleted: bool = True


def funder_of(who: Principal) -> str:
    """The caller's funder id: webhooks are a foundation's own."""
    if who.funder_id is None:
        raise RoleRefused("funder_id", "webhooks belong to a foundation: use its own token")
    return who.funder_id


async def owned(svc: Webhooks, who: Principal, subscription_id: str) -> Subscription:
    """The caller's subscription, or 404 exactly as for one that does not exist."""
    sub = await svc.store.get(subscription_id)
    if sub is None or who.funder_id is None or sub.funder_id != who.funder_id:
        raise NotFound("subscription_id", f"subscription {subscription_id} not found")
    return sub


def webhook_out(sub: Subscription, end: int | None) -> WebhookOut:
    retrying = None
    if sub.retry_position is not None and sub.failing_since is not None:
        retrying = Retry(
            position=sub.retry_position,
            attempts=sub.attempts,
            failing_since=sub.failing_since,
            next_attempt_at=sub.next_attempt_at,
        )
    return WebhookOut(
        **sub.model_dump(include=set(WebhookOut.model_fields) & set(Subscription.model_fields)),
        next_position=sub.next_position,
        pending=None if end is None else max(0, end - sub.next_position),
        retrying=retrying,
    )


async def answer(svc: Webhooks, sub: Subscription) -> WebhookOut:
    return webhook_out(sub, await feed_end(svc.settings.kafka_bootstrap, sub.funder_id))


@router.post(
    "/webhooks",
    response_model=WebhookCreated,
    status_code=201,
    responses={422: {"description": "an address not accepted, or a funder without a feed"}},
)
async def register_webhook(body: WebhookIn, svc: Svc, who: CurrentPrincipal) -> WebhookCreated:
    """Register a receiver for the caller's feed: every record from `from_position` on is
    POSTed to it as a CloudEvent, in the feed's order, signed with the secret answered here
    (once)."""
    funder_id = funder_of(who)
    url = rules.check_url(body.url, allow_loopback=svc.settings.webhook_allow_loopback)
    if not domain.has_partner_feed(await svc.donations.donor(funder_id)):
        raise DomainError("funder_id", "only a foundation or a company donor has a feed")
    await ensure_topics(svc.settings.kafka_bootstrap, [partner_feed(funder_id)])
    subscription_id = f"whk-{uuid.uuid4().hex[:20]}"
    secret = rules.secret_of(secrets.token_bytes(rules.SECRET_BYTES))
    sub = Subscription(
        subscription_id=subscription_id,
        funder_id=funder_id,
        url=url,
        description=body.description,
        secret_enc=vault_secret(svc.vault, subscription_id, secret),
        created_at=datetime.now(UTC),
        rewind=uuid.uuid4().hex,
        replay_from=body.from_position,
    )
    await svc.store.add(sub)
    out = await answer(svc, sub)
    return WebhookCreated(**out.model_dump(), secret=secret)


@router.get("/webhooks", response_model=WebhookPage)
async def list_webhooks(svc: Svc, who: CurrentPrincipal) -> WebhookPage:
    """The caller's subscriptions."""
    subs = await svc.store.of_funder(funder_of(who))
    end = await feed_end(svc.settings.kafka_bootstrap, who.funder_id or "") if subs else None
    return WebhookPage(items=[webhook_out(s, end) for s in subs], total=len(subs))


@router.get("/webhooks/{subscription_id}", response_model=WebhookOut, responses=NOT_FOUND)
async def get_webhook(subscription_id: str, svc: Svc, who: CurrentPrincipal) -> WebhookOut:
    """Where delivery stands: the last position delivered, what waits, the recent failures."""
    return await answer(svc, await owned(svc, who, subscription_id))


@router.post(
    "/webhooks/{subscription_id}/replay",
    response_model=WebhookOut,
    responses={**NOT_FOUND, 422: {"description": "a position past the feed's end"}},
)
async def replay_webhook(
    subscription_id: str, body: ReplayIn, svc: Svc, who: CurrentPrincipal
) -> WebhookOut:
    """Deliver again from `from_position` (a feed offset, as each delivered event's
    `feedposition` says) on; a parked subscription becomes active again."""
    sub = await owned(svc, who, subscription_id)
    end = await feed_end(svc.settings.kafka_bootstrap, sub.funder_id)
    if end is not None and body.from_position > end:
        raise DomainError("from_position", f"the feed holds {end} records (offsets 0 to {end - 1})")
    await svc.store.replay(subscription_id, uuid.uuid4().hex, body.from_position)
    return webhook_out(await owned(svc, who, subscription_id), end)


@router.delete("/webhooks/{subscription_id}", response_model=WebhookDeleted, responses=NOT_FOUND)
async def delete_webhook(subscription_id: str, svc: Svc, who: CurrentPrincipal) -> WebhookDeleted:
    """Stop delivering and forget the subscription and its secret."""
    await owned(svc, who, subscription_id)
    await svc.store.delete(subscription_id)
    return WebhookDeleted(subscription_id=subscription_id)
