"""The donations service's only door to the database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from donations.domain import Donor, Fund, Totals, fold
from donations.domain.disclosure import OrgRef, Place, Refs, StationRef, codes_to_name
from donations.domain.outcomes import Funded, Share, issue_statements, record_outcomes
from donations.domain.webhooks import Failure, Subscription
from wushe import bus
from wushe.contracts import REGISTRY, Envelope, Event
from wushe.contracts.events import activities as act
from wushe.contracts.events import donations as ev
from wushe.idempotency import IdempotencyKeys
from wushe.refcopy import RegistryCopy, apply_once
from wushe.regiondata import full_name, region_names
from wushe.rekey import Sealed
from wushe.service import ServiceContext
from wushe.store import commit_id, in_region, versioned
from wushe.store.events import insert_new

AGGREGATES = ("donors", "funds")
# What a disclosure may know of a donor: whether and how it may be named, never who a
# person is (their sealed and masked fields stay behind).
PUBLIC_DONOR_FIELDS = {"donor_id", "kind", "region_code", "org_id", "anonymous", "display_name"}
# The partner foundations' webhook subscriptions (api.webhooks, webhook_delivery).
WEBHOOKS = "webhooks"
# Activities funded by allocations, as last held or corrected (handlers.FundOutcomes).
FUNDED_ACTIVITIES = "funded_activities"
# An individual donor's personal data sealed by the vault, and what each value is bound to
# (`wushe.rekey`: re-sealed under the current key after a rotation). The contexts are those of
# domain.donors.
SEALED = (
    Sealed("donors", "name_enc", "donor:{donor_id}:name"),
    Sealed("donors", "phone_enc", "donor:{donor_id}:phone"),
    Sealed("donors", "id_number_enc", "donor:{donor_id}:id"),
    # Not personal data but a credential: each webhook's signing secret (decision 0042).
    Sealed(WEBHOOKS, "secret_enc", "webhook:{subscription_id}:secret"),
)


class DonationsStore:
    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self.donors, self.funds = map(ctx.store, AGGREGATES)
        self.registry = RegistryCopy(ctx.db)
        self.idempotency = IdempotencyKeys(ctx.db, "money_keys")
        self.region_data_dir = ctx.settings.region_data_dir  # the places of disclosures
        self.funded = ctx.db[FUNDED_ACTIVITIES]
        self.allocation_funds: dict[str, str] = {}  # an allocation never changes its fund

    async def donor(self, donor_id: str) -> Donor | None:
        donor, _ = await self.donors.load_model(donor_id, Donor)
        return donor

    async def donor_as_committed(self, donor_id: str) -> Donor | None:
        """The donor as its commits have it, where the cache may lag them (a crash between
        the two inserts): a funder's partner feed must not depend on the cache's luck."""
        loaded = await self.donors.catch_up(donor_id)
        return Donor.model_validate(loaded.state) if loaded.state else None

    async def funds_within(
        self, within: str, *, funder_id: str | None = None
    ) -> AsyncIterator[Fund]:
        query = in_region(within, funder_id=funder_id)
        async for d in self.funds.current.find(query).sort("_id", 1):
            yield Fund.model_validate(d)

    async def fund(self, fund_id: str) -> Fund | None:
        fund, _ = await self.funds.load_model(fund_id, Fund)
        return fund

    async def funds_of(self, funder_id: str) -> AsyncIterator[Fund]:
        """A foundation's funds, wherever they are (its scope is its funder id)."""
        async for d in self.funds.current.find({"funder_id": funder_id}).sort("_id", 1):
            yield Fund.model_validate(d)

    async def event_totals(self, fund_id: str) -> tuple[Totals, int]:
        """The fund's totals from its recorded events, and how many are not yet published."""
        totals, unpublished = Totals(), 0
        async for commit in self.funds.commits.find({"stream_id": fund_id}).sort("version", 1):
            for raw in commit["events"]:
                totals = fold(totals, REGISTRY.decode(Envelope.model_validate(raw)))
            if not await self.funds.is_published(commit["_id"]):
                unpublished += len(commit["events"])
        return totals, unpublished

    # -- disclosure (domain.disclosure): the public accounts of funds and programmes
    async def funds_with_versions(self, **equal: str) -> list[tuple[Fund, int]]:
        """The funds whose fields equal `equal` (a programme's, a funder's), with versions."""
        found = versioned(self.funds, Fund, equal)
        return sorted([f async for f in found], key=lambda f: f[0].fund_id)

    async def fund_with_version(self, fund_id: str) -> tuple[Fund | None, int]:
        return await self.funds.load_model(fund_id, Fund)

    async def changed_at(self, fund_id: str, version: int) -> datetime | None:
        """When the fund's `version` was recorded (the commit of that version)."""
        commit = await self.funds.commits.find_one(
            {"_id": commit_id(fund_id, version)}, {"recorded_at": 1}
        )
        at = commit.get("recorded_at") if commit else None
        return at.replace(tzinfo=UTC) if isinstance(at, datetime) and at.tzinfo is None else at

    async def disclosure_refs(self, funds: Sequence[Fund], programmes: Iterable[str] = ()) -> Refs:
        """The names a disclosure of `funds` (and `programmes`) shows: donors (never their
        personal data: only what says whether and how they may be named), stations,
        organisations and programmes from the registry copy, places from the region data."""
        donors = {}
        for donor_id in sorted({f.donor_id for f in funds}):
            donor = await self.donor(donor_id)
            if donor is not None:
                donors[donor_id] = Donor(**donor.model_dump(include=PUBLIC_DONOR_FIELDS))
        station_ids = {a.station_id for f in funds for a in f.allocations.values()}
        station_ids |= {f.station_id for f in funds if f.station_id}
        stations = {
            d["_id"]: StationRef.model_validate(d)
            async for d in self.registry.stations.find({"_id": {"$in": sorted(station_ids)}})
        }
        org_ids = {d.org_id for d in donors.values() if d.org_id}
        org_ids |= {s.operator_org_id for s in stations.values() if s.operator_org_id}
        organisations = {
            d["_id"]: OrgRef.model_validate(d)
            async for d in self.registry.organisations.find({"_id": {"$in": sorted(org_ids)}})
        }
        programme_ids = sorted({f.programme_id for f in funds if f.programme_id} | {*programmes})
        names = {
            d["_id"]: str(d.get("name") or "")
            async for d in self.registry.programmes.find({"_id": {"$in": programme_ids}})
        }
        codes = codes_to_name(funds) | {s.region_code for s in stations.values()}
        return Refs(
            donors=donors,
            stations=stations,
            organisations=organisations,
            programmes={k: v for k, v in names.items() if v},
            places=self.places(codes),
        )

    def places(self, codes: Iterable[str]) -> dict[str, Place]:
        names = region_names(self.region_data_dir)
        return {
            code: Place(code=code, name=names[code], full_name=full_name(names, code) or "")
            for code in codes
            if code in names
        }

    # -- what funded activities delivered (handlers.FundOutcomes, domain.outcomes)
    async def funded_activities(self, activity_ids: set[str]) -> dict[str, Funded]:
        if not activity_ids:
            return {}
        found = self.funded.find({"_id": {"$in": sorted(activity_ids)}})
        return {d["_id"]: funded_of(d) async for d in found}

    async def remember_funding(self, changed: list[tuple[Funded, bus.Delivery, bool]]) -> None:
        """Keep each funded activity as its latest event left it (`held` first: inserted,
        in one round trip, a redelivered one left as it is; a correction replaces it unless
        this delivery's offset is in it already)."""
        held = [
            {**funded_doc(f), "partition": at.partition, "offset": at.offset}
            for f, at, first in changed
            if first
        ]
        for f, at, first in changed:
            if not first:
                await apply_once(self.funded, f.activity_id, at, partial(replaced, funded_doc(f)))
        await insert_new(self.funded, held)

    async def funds_of_allocations(self, allocation_ids: set[str]) -> dict[str, str]:
        """The fund of each named allocation this service holds."""
        missing = sorted(a for a in allocation_ids if a not in self.allocation_funds)
        if missing:
            query = {"$or": [{f"allocations.{a}": {"$exists": True}} for a in missing]}
            async for d in self.funds.current.find(query, {"allocations": 1}):
                for allocation_id in d.get("allocations", {}):
                    self.allocation_funds[allocation_id] = str(d["_id"])
        return {a: self.allocation_funds[a] for a in allocation_ids if a in self.allocation_funds}

    async def record_outcomes(self, fund_id: str, shares: list[Share]) -> None:
        def decide(fund: Fund | None) -> tuple[Fund, list[Event]]:
            assert fund is not None  # found by its allocations
            return record_outcomes(fund, shares)

        await self.funds.update_model(fund_id, Fund, decide)

    async def issue_statements(self, fund_id: str, through: str) -> list[ev.StatementIssued]:
        """The fund's statements due through `through` (YYYY-MM), issued now."""
        issued: list[ev.StatementIssued] = []

        def decide(fund: Fund | None) -> tuple[Fund, list[Event]]:
            assert fund is not None
            new, events = issue_statements(fund, through=through)
            issued[:] = [e for e in events if isinstance(e, ev.StatementIssued)]
            return new, events

        await self.funds.update_model(fund_id, Fund, decide)
        return issued

    async def fund_ids(self) -> list[str]:
        return [str(d["_id"]) async for d in self.funds.current.find({}, {"_id": 1})]

    async def statements(self, fund_id: str) -> list[ev.StatementIssued]:
        """The fund's statements as issued, the earliest first (from its recorded events)."""
        out: list[ev.StatementIssued] = []
        async for commit in self.funds.commits.find({"stream_id": fund_id}).sort("version", 1):
            for raw in commit["events"]:
                if raw.get("type") == ev.StatementIssued.event_type:
                    event = REGISTRY.decode(Envelope.model_validate(raw))
                    assert isinstance(event, ev.StatementIssued)
                    out.append(event)
        return out


def replaced(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    return {**old, **new}


def funded_doc(f: Funded) -> dict[str, Any]:
    return {
        "_id": f.activity_id,
        "donation_ids": f.donation_ids,
        "counts": f.counts.model_dump(mode="json"),
        "activity_date": f.activity_date.isoformat(),
    }


def funded_of(doc: dict[str, Any]) -> Funded:
    return Funded(
        activity_id=str(doc["_id"]),
        donation_ids=list(doc["donation_ids"]),
        counts=act.Counts.model_validate(doc["counts"]),
        activity_date=date.fromisoformat(str(doc["activity_date"])),
    )


class WebhookStore:
    """The webhook subscriptions (decision 0042): one document each, written by the routes
    (register, replay, delete) and by the one delivery loop that holds its feed (where
    delivery stands). The loop's writes name the registration or replay it delivers for
    (`rewind`): once a replay has named a new one, an older loop's writes match nothing."""

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self.subscriptions = ctx.db[WEBHOOKS]

    async def ensure_indexes(self) -> None:
        await self.subscriptions.create_index("funder_id")
        await self.subscriptions.create_index("status")

    async def add(self, sub: Subscription) -> None:
        # `_v`: what `wushe.rekey` guards a re-sealed secret with; nothing else changes it
        await self.subscriptions.insert_one(
            {"_id": sub.subscription_id, "_v": 1, **sub.model_dump(mode="python")}
        )

    async def get(self, subscription_id: str) -> Subscription | None:
        doc = await self.subscriptions.find_one({"_id": subscription_id})
        return Subscription.model_validate(doc) if doc else None

    async def of_funder(self, funder_id: str) -> list[Subscription]:
        found = self.subscriptions.find({"funder_id": funder_id}).sort("_id", 1)
        return [Subscription.model_validate(d) async for d in found]

    async def active(self) -> dict[str, str]:
        """The subscriptions to deliver to: their funder ids, by subscription id."""
        found = self.subscriptions.find({"status": "active"}, {"funder_id": 1})
        return {str(d["_id"]): str(d["funder_id"]) async for d in found}

    async def parked(self) -> int:
        return await self.subscriptions.count_documents({"status": "parked"})

    async def replay(self, subscription_id: str, rewind: str, from_position: int) -> None:
        """Deliver again from `from_position` under a new `rewind`: active again, the retry
        forgotten (the failures stay, as history)."""
        await self.subscriptions.update_one(
            {"_id": subscription_id},
            {
                "$set": {
                    "rewind": rewind,
                    "replay_from": from_position,
                    "status": "active",
                    "parked_at": None,
                    "parked_reason": None,
                    **NO_RETRY,
                }
            },
        )

    async def delete(self, subscription_id: str) -> None:
        await self.subscriptions.delete_one({"_id": subscription_id})

    async def delivered(
        self, subscription_id: str, rewind: str, position: int, event_id: str, at: datetime
    ) -> None:
        await self.subscriptions.update_one(
            {"_id": subscription_id, "rewind": rewind},
            {
                "$set": {
                    "position": position,
                    "event_id": event_id,
                    "delivered_at": at,
                    "position_rewind": rewind,
                    **NO_RETRY,
                }
            },
        )

    async def failed(
        self,
        subscription_id: str,
        rewind: str,
        failures: list[Failure],
        *,
        attempts: int,
        since: datetime,
        next_at: datetime,
        park: str | None = None,
    ) -> None:
        """A failed attempt (the last of `failures`) and the retry's state; with `park`, why
        delivery stops until a replay."""
        latest = failures[-1]
        parked = {"status": "parked", "parked_at": latest.at, "parked_reason": park}
        await self.subscriptions.update_one(
            {"_id": subscription_id, "rewind": rewind},
            {
                "$set": {
                    "failures": [f.model_dump(mode="python") for f in failures],
                    "retry_position": latest.position,
                    "attempts": attempts,
                    "failing_since": since,
                    "next_attempt_at": None if park else next_at,
                    **(parked if park else {}),
                }
            },
        )


NO_RETRY = {"retry_position": None, "attempts": 0, "failing_since": None, "next_attempt_at": None}
