"""Test data built once: the events and envelopes many tests feed to the views and copies,
each in one line with the values the tests do not care about filled in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypeVar

from wushe.contracts import Envelope, Event
from wushe.contracts.events import activities as act
from wushe.contracts.events import donations as don
from wushe.validators import uscc_check_char

E = TypeVar("E", bound=Event)


def envelope(event: Event, subject: str, version: int | None = None, **wrap: Any) -> Envelope:
    """`event` wrapped as its service publishes it (source `/wushe/<service>` unless given),
    at stream `version` if given."""
    wrap.setdefault("source", f"/wushe/{event.topic.split('.')[0]}")
    env = Envelope.wrap(event, subject=subject, **wrap)
    if version is None:
        return env
    return env.model_copy(update={"sequence": f"{version:010d}.0000"})


def activity_facts(activity_id: str, station_id: str, day: date, **facts: Any) -> act.ActivityFacts:
    """An elder-services community event at station `st-<township>`, on `day`."""
    values = {"region_code": station_id[3:], "service_area": "elder_services"}
    values |= {"kind": "community_event", **facts}
    return act.ActivityFacts(
        activity_id=activity_id, station_id=station_id, activity_date=day, **values
    )


def held_activity(
    activity_id: str,
    station_id: str,
    day: date,
    elders: int,
    *,
    sessions: int = 1,
    linkage: act.Linkage | None = None,
    **facts: Any,
) -> act.ActivityHeld:
    """That activity, held on its day with `sessions` and `elders` person-times."""
    return act.ActivityHeld(
        activity=activity_facts(activity_id, station_id, day, **facts),
        held_on=day,
        counts=act.Counts(sessions=sessions, person_times={"elders": elders}),
        linkage=linkage or act.Linkage(),
    )


def corrected_activity(
    facts: act.ActivityFacts, previous: act.Counts, counts: act.Counts, **extra: Any
) -> act.ActivityCorrected:
    """A first correction (a count error) of the activity `facts` describes."""
    values: dict[str, Any] = {"linkage": act.Linkage(), "reason_code": "count_error", **extra}
    return act.ActivityCorrected(
        activity_id=facts.activity_id,
        station_id=facts.station_id,
        region_code=facts.region_code,
        correction_no=1,
        previous=previous,
        counts=counts,
        activity_date=facts.activity_date,
        **values,
    )


@dataclass(frozen=True)
class FundEvents:
    """The events of one fund on the partner stream, all on `day`."""

    fund_id: str
    funder_id: str
    day: date

    def _of(self, event: type[E], **fields: Any) -> E:
        return event(fund_id=self.fund_id, funder_id=self.funder_id, **fields)

    def pledge(self, amount_fen: int, programme_id: str = "bv") -> don.PledgeMade:
        return self._of(
            don.PledgeMade,
            programme_id=programme_id,
            region_code="36",
            amount_fen=amount_fen,
            period_start=self.day,
            period_end=self.day,
        )

    def gift(
        self, gift_id: str, amount_fen: int, kind: Literal["cash", "in_kind"] = "cash"
    ) -> don.GiftReceived:
        return self._of(
            don.GiftReceived,
            gift_id=gift_id,
            pledge_linked=True,
            kind=kind,
            amount_fen=amount_fen,
            receipt_no="R1",
            received_on=self.day,
            region_code="36",
        )

    def allocation(
        self, allocation_id: str, station_id: str, amount_fen: int, region_code: str = ""
    ) -> don.FundsAllocated:
        """To station `st-<township>` (or one in `region_code`)."""
        return self._of(
            don.FundsAllocated,
            allocation_id=allocation_id,
            station_id=station_id,
            region_code=region_code or station_id[3:],
            amount_fen=amount_fen,
            allocated_on=self.day,
        )

    def disbursement(
        self, disbursement_id: str, allocation: don.FundsAllocated, amount_fen: int, purpose: str
    ) -> don.FundsDisbursed:
        """Paid out of `allocation`, at its station."""
        return self._of(
            don.FundsDisbursed,
            disbursement_id=disbursement_id,
            allocation_id=allocation.allocation_id,
            station_id=allocation.station_id,
            region_code=allocation.region_code,
            amount_fen=amount_fen,
            paid_on=self.day,
            purpose=purpose,
        )

    def reversal(
        self,
        reversal_id: str,
        entry: don.GiftReceived | don.FundsDisbursed,
        amount_fen: int,
        reason_code: str,
    ) -> don.EntryReversed:
        """Part of an earlier gift or disbursement taken back, named as the service names it."""
        where: dict[str, Any] = (
            {"entry_kind": "gift", "entry_id": entry.gift_id, "gift_kind": entry.kind}
            if isinstance(entry, don.GiftReceived)
            else {
                "entry_kind": "disbursement",
                "entry_id": entry.disbursement_id,
                "station_id": entry.station_id,
                "allocation_id": entry.allocation_id,
            }
        )
        return self._of(
            don.EntryReversed,
            reversal_id=reversal_id,
            amount_fen=amount_fen,
            reversed_on=self.day,
            reason_code=reason_code,
            region_code=entry.region_code,
            **where,
        )


def activity_body(station_id: str, day: date, **body: Any) -> dict[str, Any]:
    """The body of `POST /activities`: an elder-services community event on `day` unless
    `body` says otherwise."""
    planned = {"station_id": station_id, "service_area": "elder_services"}
    return planned | {"kind": "community_event", "activity_date": str(day), **body}


def organisation_body(
    name: str, credit_code: str, region_code: str, kind: str = "social_work_org"
) -> dict[str, str]:
    """The body of the registry's `POST /organisations`."""
    return {"name": name, "kind": kind, "credit_code": credit_code, "region_code": region_code}


def credit_code(unique: str) -> str:
    """A valid unified social credit code (GB 32100) of its own for each test."""
    first17 = "91360100" + unique[:9].upper()
    return first17 + uscc_check_char(first17)


def month_over(today: date) -> str:
    """The latest month that is over on `today` (YYYY-MM): the one a county closes first."""
    index = today.year * 12 + today.month - 2
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def close_month_body(place: str, month: str) -> dict[str, str]:
    """The body of the registry's `POST /closed-months`: close `month` (YYYY-MM), and every
    earlier month still open, for the county of `place` (a county's code or a place in it)."""
    return {"region_code": place[:6], "month": month}
