"""Kafka subscribers of the donations service:

- the local copy of registry stations and programmes (`wushe.refcopy`), against which
  pledges and allocations are checked;
- the partner feeds: every organisational funder's records of the partner stream, copied to
  a topic of its own, the only one its partner login may read
  (docs/decisions/0028-a-feed-per-partner.md).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence

from prometheus_client import Counter

from donations import domain
from donations.settings import DonationsSettings
from donations.store import DonationsStore
from wushe import bus
from wushe.contracts import Envelope, Event
from wushe.contracts.events import donations as ev
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext
from wushe.topics import PARTNER_TOPIC, ensure_topics, partner_feed

log = logging.getLogger("donations.partner_feeds")
FUNDERS_REMEMBERED = 100_000  # a funder forgotten is looked up again (two reads by _id)


def register(ctx: ServiceContext[DonationsSettings]) -> None:
    RegistryCopy(ctx.db).subscribe(ctx, group_id=ctx.settings.registry_copy_group)
    feeds = PartnerFeeds(DonationsStore(ctx), ctx)
    ctx.subscribe_batch(
        PARTNER_TOPIC.name, group_id=ctx.settings.partner_feed_group, handler=feeds.copy
    )


class PartnerFeeds:
    """Copies each record of an organisational funder from the partner stream to the funder's
    feed (`donations.partner-feed.<funder id>`), in the stream's order.

    At least once, like every delivery here: after a crash between the copy and the offset
    commit a record is copied again, with the same CloudEvents id and `ce_sequence`, which a
    partner skips (`wushe.partner`). The funder's records share one partition of the stream,
    so one consumer copies them, in order, to the feed's one partition."""

    def __init__(self, store: DonationsStore, ctx: ServiceContext[DonationsSettings]) -> None:
        self.store = store
        self.broker = ctx.broker
        self.bootstrap = ctx.settings.kafka_bootstrap
        # funder id -> the outcome of its records (a donor's kind never changes); bounded,
        # since every individual donor is a funder too
        self.feeds: OrderedDict[str, str] = OrderedDict()
        self.ensured: set[str] = set()  # feed topics created or checked by this process
        self.records = Counter(
            "wushe_partner_feed_records_total",
            "Records of the partner stream, by what the partner feeds did with them",
            ["outcome"],
            registry=ctx.metrics,
        )

    async def copy(self, items: Sequence[tuple[Event, Envelope, bus.Delivery]]) -> None:
        copies, feeds = [], {}
        outcomes: dict[str, int] = {}
        for event, envelope, _ in items:
            outcome = await self.outcome(event)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if outcome == "copied" and isinstance(event, ev.FundEvent):
                feed = partner_feed(event.funder_id)
                feeds[feed.name] = feed
                copies.append(envelope.model_copy(update={"topic": feed.name}))
        missing = [feed for name, feed in feeds.items() if name not in self.ensured]
        if missing:  # retained forever with one partition, not the broker's defaults
            await ensure_topics(self.bootstrap, missing)
            self.ensured.update(feed.name for feed in missing)
        await bus.publish_envelopes(self.broker, copies)
        for outcome, count in outcomes.items():  # counted once the copies are confirmed
            self.records.labels(outcome).inc(count)

    async def outcome(self, event: Event) -> str:
        """`copied`, `not_a_partner` (an individual, an anonymous gift, not a fund event) or
        `unknown_funder`: a funder this service does not hold, which only a store restored
        from a backup older than the stream can produce. Such a record has no partner to
        reach, so it is counted and logged, not copied, and not dead-lettered: the platform's
        own consumers of the stream still judge it."""
        if not isinstance(event, ev.FundEvent) or event.funder_id == "anonymous":
            return "not_a_partner"
        funder = event.funder_id
        if funder not in self.feeds:
            donor = await self.store.donor_as_committed(funder)
            if donor is None:  # logged once per funder; its id is pseudonymous
                log.warning("the partner stream names %s, a funder this service lacks", funder)
                self.feeds[funder] = "unknown_funder"
            else:
                partner = domain.has_partner_feed(donor)
                self.feeds[funder] = "copied" if partner else "not_a_partner"
            while len(self.feeds) > FUNDERS_REMEMBERED:
                self.feeds.popitem(last=False)
        return self.feeds[funder]
