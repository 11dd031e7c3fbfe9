"""Points (积分): a province's rules, versioned and never retroactive, the points an
approved attendance earns under them, and redemptions at the public-welfare supermarket
(公益超市) that never take a balance below zero. Points live in the volunteer's ledger
(`volunteers.domain.ledger`), the unit of consistency."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from pydantic import BaseModel

from volunteers.domain.volunteers import Volunteer, active
from wushe.contracts import Event
from wushe.contracts.events import volunteers as ev
from wushe.errors import Conflict, DomainError

if TYPE_CHECKING:  # the ledger holds the points; its rules call these
    from volunteers.domain.ledger import Ledger


def rules_id(region_code: str) -> str:
    """Points rules are per province (the first two digits of the region code)."""
    return f"rules-{region_code[:2]}"


class RulesVersion(BaseModel):
    version: int
    effective_from: date
    points_per_hour: int
    bonuses: list[ev.Bonus] = []


class PointsRules(BaseModel):
    """A province's points rules (积分规则), versioned; a version applies from its date on."""

    rules_id: str
    region_code: str
    versions: list[RulesVersion] = []

    def in_force(self, on: date) -> RulesVersion | None:
        fitting = [v for v in self.versions if v.effective_from <= on]
        return max(fitting, key=lambda v: (v.effective_from, v.version)) if fitting else None

    def version(self, n: int | None) -> RulesVersion | None:
        return next((v for v in self.versions if v.version == n), None)


def publish_rules(
    rules: PointsRules,
    *,
    effective_from: date,
    points_per_hour: int,
    bonuses: list[ev.Bonus],
    today: date,
) -> tuple[PointsRules, Event]:
    """A new version, never retroactive: approvals already given keep their points."""
    if effective_from < today:
        raise DomainError("effective_from", "rules apply from today or later, never backwards")
    kinds = [b.when for b in bonuses]
    if len(set(kinds)) != len(kinds):
        raise DomainError("bonuses", "one bonus per condition")
    version = RulesVersion(
        version=len(rules.versions) + 1,
        effective_from=effective_from,
        points_per_hour=points_per_hour,
        bonuses=bonuses,
    )
    new = rules.model_copy(update={"versions": [*rules.versions, version]})
    return new, ev.PointsRulesPublished.of(
        version, rules_id=rules.rules_id, region_code=rules.region_code
    )


def points_for(minutes: int, rules: RulesVersion | None, *, v: Volunteer, day: date) -> int:
    """Whole points for approved minutes: per-hour rate plus the bonuses that apply."""
    if rules is None:
        return 0
    applies = {
        "backbone": bool(v.backbone),
        "elder_volunteer": v.elder_volunteer,
        "weekend": day.weekday() >= 5,
    }
    percent = 100 + sum(b.extra_percent for b in rules.bonuses if applies[b.when])
    return minutes * rules.points_per_hour * percent // (60 * 100)


class Redemption(BaseModel):
    redemption_id: str
    points: int
    item: str
    redeemed_on: date
    balance: int


def redeem(
    ledger: Ledger,
    v: Volunteer,
    *,
    redemption_id: str,
    points: int,
    item: str,
    on: date,
) -> tuple[Ledger, Redemption, list[Event]]:
    """Spend points at the public-welfare supermarket (公益超市). The same redemption id
    returns the first outcome (no second effect); the balance never goes below zero."""
    done = ledger.redemptions.get(redemption_id)
    if done is not None:
        return ledger, done, []
    active(v)
    if points <= 0:
        raise DomainError("points", "must be positive")
    if points > ledger.balance:
        raise Conflict("points", f"only {ledger.balance} points available")
    balance = ledger.balance - points
    r = Redemption(
        redemption_id=redemption_id,
        points=points,
        item=item.strip(),
        redeemed_on=on,
        balance=balance,
    )
    new = ledger.model_copy(
        update={
            "balance": balance,
            "redeemed": ledger.redeemed + points,
            "redemptions": {**ledger.redemptions, redemption_id: r},
        }
    )
    redeemed = ev.PointsRedeemed.of(
        v, redemption_id=redemption_id, points=points, balance=balance, redeemed_on=on
    )
    return new, r, [redeemed]
