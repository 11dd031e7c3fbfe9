"""Kafka subscribers of the donations service:

- the local copy of registry stations and programmes (`wushe.refcopy`), against which
  pledges and allocations are checked;
- the partner feeds: every organisational funder's records of the partner stream, copied to
  a topic of its own, the only one its partner login may read
  (docs/decisions/0028-a-feed-per-partner.md);
- what funded activities delivered: each activity event naming allocations is shared out
  among them and recorded on their funds (`domain.outcomes`, decision 0041).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date

from prometheus_client import Counter

from donations import domain
from donations.domain.outcomes import Funded, Share, Stage, last_month
from donations.settings import DonationsSettings
from donations.store import DonationsStore
from wushe import bus, clock, funding
from wushe.contracts import Envelope, Event
from wushe.contracts.events import activities as act
from wushe.contracts.events import donations as ev
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext
from wushe.topics import PARTNER_TOPIC, ensure_topics, partner_feed

log = logging.getLogger("donations.partner_feeds")
FUNDERS_REMEMBERED = 100_000  # a funder forgotten is looked up again (two reads by _id)


async def statement_sweep(ctx: ServiceContext[DonationsSettings]) -> None:
    """Issues the monthly statements of months that are over, every
    `statement_sweep_s` (the first run at start)."""
    store = DonationsStore(ctx)
    while True:
        try:
            await issue_due(store, clock.today())
        except Exception:  # the next sweep tries again; nothing is half-issued (one commit)
            log.exception("issuing monthly statements failed")
        await asyncio.sleep(ctx.settings.statement_sweep_s)


async def issue_due(store: DonationsStore, today: date) -> int:
    """Every fund's statements through the last month over on `today`: how many issued."""
    through = last_month(today)
    issued = 0
    for fund_id in await store.fund_ids():
        issued += len(await store.issue_statements(fund_id, through))
    return issued


def register(ctx: ServiceContext[DonationsSettings]) -> None:
    RegistryCopy(ctx.db).subscribe(ctx, group_id=ctx.settings.registry_copy_group)
    feeds = PartnerFeeds(DonationsStore(ctx), ctx)
    ctx.subscribe_batch(
        PARTNER_TOPIC.name, group_id=ctx.settings.partner_feed_group, handler=feeds.copy
    )
    outcomes = FundOutcomes(DonationsStore(ctx))
    ctx.subscribe_batch(
        act.ACTIVITIES, group_id=ctx.settings.fund_outcomes_group, handler=outcomes.record
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


class FundOutcomes:
    """Records, on each fund, its allocations' shares of the activities they funded: held,
    verified and corrected (`domain.outcomes`). Activities without allocations pass by."""

    def __init__(self, store: DonationsStore) -> None:
        self.store = store

    async def record(self, items: Sequence[tuple[Event, Envelope, bus.Delivery]]) -> None:
        events = [item for item in items if isinstance(item[0], FUNDED)]
        if not events:
            return
        ids = {e.activity_id for e, _, _ in events if isinstance(e, act.ActivityAtStation)}
        known = await self.store.funded_activities(ids)
        shares: list[Share] = []
        changed: list[tuple[Funded, bus.Delivery, bool]] = []
        for event, envelope, at in events:
            today = clock.today(envelope.time)
            shares.extend(shares_of(event, today, at, known))
            if (funded := funded_after(event, today, known)) is not None:
                known[funded.activity_id] = funded
                changed.append((funded, at, isinstance(event, act.ActivityHeld)))
        await self.store.remember_funding(changed)
        funds = await self.store.funds_of_allocations({s.allocation_id for s in shares})
        by_fund: dict[str, list[Share]] = {}
        for share in shares:
            if (fund_id := funds.get(share.allocation_id)) is not None:
                by_fund.setdefault(fund_id, []).append(share)
            else:  # the activities service checked it exists: only a restored store lacks it
                log.warning("an activity names allocation %s, unknown here", share.allocation_id)
        for fund_id, fund_shares in sorted(by_fund.items()):
            await self.store.record_outcomes(fund_id, fund_shares)


FUNDED = act.ActivityHeld | act.ActivityVerified | act.ActivityCorrected


def shares_of(event: Event, today: date, at: bus.Delivery, known: dict[str, Funded]) -> list[Share]:
    """Each allocation's share of one activity event (`wushe.funding`'s rule); `today` is
    the day the event was recorded."""
    if isinstance(event, act.ActivityHeld):
        activity_id, day, on = (
            event.activity.activity_id,
            event.activity.activity_date,
            event.held_on,
        )
        split = funding.held_shares(event.counts, event.linkage.donation_ids)
    elif isinstance(event, act.ActivityCorrected):
        before = known.get(event.activity_id)
        now = event.linkage.donation_ids
        was = event.previous_donation_ids
        was = was if was is not None else (before.donation_ids if before else now)
        split = funding.corrected_shares(event.previous, event.counts, was, now)
        activity_id, on = event.activity_id, today
        day = event.activity_date or (before.activity_date if before else today)
    elif isinstance(event, act.ActivityVerified) and event.activity_id in known:
        funded = known[event.activity_id]
        split = funding.held_shares(funded.counts, funded.donation_ids)
        activity_id, day, on = event.activity_id, funded.activity_date, event.verified_on
    else:
        return []
    stage = STAGES[type(event)]
    return [
        Share(at.partition, at.offset, allocation_id, activity_id, stage, day, on, share)
        for allocation_id, share in split.items()
    ]


def funded_after(event: Event, today: date, known: dict[str, Funded]) -> Funded | None:
    """The funded activity as `event` leaves it (None: not funded, nor ever was)."""
    if isinstance(event, act.ActivityHeld) and event.linkage.donation_ids:
        f = event.activity
        return Funded(
            f.activity_id, list(event.linkage.donation_ids), event.counts, f.activity_date
        )
    if isinstance(event, act.ActivityCorrected):
        before = known.get(event.activity_id)
        if before is None and not event.linkage.donation_ids:
            return None
        day = event.activity_date or (before.activity_date if before else today)
        return Funded(event.activity_id, list(event.linkage.donation_ids), event.counts, day)
    return None


STAGES: dict[type[Event], Stage] = {
    act.ActivityHeld: "held",
    act.ActivityVerified: "verified",
    act.ActivityCorrected: "corrected",
}
