"""Gifts (捐赠): cash or in kind, fulfilling a pledge or making a fund of their own."""

from __future__ import annotations

from datetime import date

from donations.domain.donors import Donor
from donations.domain.funds import (
    Fund,
    Gift,
    GiftIn,
    fund_keys,
    open_fund,
    programme_region,
    whole_fen,
    with_entry,
)
from wushe.contracts import Event
from wushe.contracts.events import donations as ev
from wushe.contracts.known import KnownProgramme
from wushe.errors import Conflict, DomainError, valid
from wushe.validators import check_region_code


def _check_gift(g: GiftIn, today: date) -> None:
    whole_fen(g.amount_fen)
    if g.received_on > today:
        raise DomainError("received_on", "must not be in the future")
    if g.kind == "in_kind":
        if not (g.item and g.quantity and g.unit):
            raise DomainError("item", "a gift in kind needs item, quantity and unit")
        if g.quantity <= 0:
            raise DomainError("quantity", "must be positive")
    elif g.item or g.quantity or g.unit:
        raise DomainError("item", "a cash gift has no item, quantity or unit")
    if not g.receipt_no.strip():
        raise DomainError("receipt_no", "a receipt number (捐赠票据号) is required")


def _gift_event(fund: Fund, gift: Gift) -> Event:
    return ev.GiftReceived.of(
        gift,
        **fund_keys(fund),
        pledge_linked=fund.kind == "pledge",
        region_code=fund.region_code,
        programme_id=fund.programme_id,
    )


def gift_fund(
    *,
    fund_id: str,
    donor: Donor,
    region_code: str,
    programme_id: str | None,
    gift: GiftIn,
    today: date,
) -> tuple[Fund, Event]:
    """A gift made without a pledge: a fund of its own, its value what may be allocated."""
    _check_gift(gift, today)
    g = Gift(**gift.model_dump())
    fund = open_fund(
        fund_id,
        donor,
        "gift",
        (g.gift_id, g.amount_fen, g.received_on),
        region_code=region_code,
        programme_id=programme_id,
        gifts={g.gift_id: g},
    )
    return fund, _gift_event(fund, g)


def receive_on_pledge(fund: Fund, gift: GiftIn, *, today: date) -> tuple[Fund, list[Event]]:
    """A gift fulfilling (part of) a pledge. The same gift id again changes nothing."""
    if gift.gift_id in fund.gifts:
        return fund, []
    if fund.kind != "pledge":
        raise Conflict("pledge_id", f"{fund.fund_id} is not a pledge")
    _check_gift(gift, today)
    outstanding = fund.pledged_fen - fund.received
    if gift.amount_fen > outstanding:
        raise Conflict(
            "amount_fen",
            f"only {outstanding} fen of the pledge are outstanding; "
            "record the rest as a gift of its own",
        )
    g = Gift(**gift.model_dump())
    new = fund.model_copy(
        update={
            "gifts": {**fund.gifts, g.gift_id: g},
            "entries": with_entry(fund, "gift", g.gift_id, g.amount_fen, g.received_on),
        }
    )
    return new, [_gift_event(new, g)]


def gift_region(programme: KnownProgramme | None, region_code: str | None) -> str:
    """Where a gift without a pledge lies: its programme's place, or the region it serves."""
    if programme is not None:
        return programme_region(programme)
    return valid("region_code", check_region_code, region_code or "")
