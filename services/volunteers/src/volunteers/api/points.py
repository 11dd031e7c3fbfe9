"""Points (积分): a province's rules, published as versions, and redemptions at the
public-welfare supermarket (公益超市), keyed so that a retried request redeems once."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from volunteers.api.deps import Svc, change_ledger
from volunteers.domain import points as rules
from volunteers.domain.ledger import Ledger
from volunteers.domain.points import PointsRules, Redemption, RulesVersion
from wushe import commands
from wushe.auth import CurrentPrincipal
from wushe.commands import region_code
from wushe.contracts import Event
from wushe.contracts.events import volunteers as ev
from wushe.errors import NotFound
from wushe.idempotency import effect_id, fingerprint, require_key
from wushe.web import Strict, fields, today

router = APIRouter(tags=["points"])


class RulesIn(Strict):
    region_code: str = Field(pattern=r"^\d{2}$", description="the province (two digits)")
    effective_from: date
    points_per_hour: int = Field(ge=0, le=1000)
    bonuses: list[ev.Bonus] = Field(default_factory=list, max_length=3)


class RulesOut(BaseModel):
    rules_id: str
    region_code: str
    versions: list[RulesVersion]


class RedeemIn(Strict):
    points: int = Field(gt=0, le=1_000_000, strict=True)
    item: str = Field(min_length=1, max_length=100, description="what the points bought")


class RedemptionOut(BaseModel):
    redemption_id: str
    volunteer_id: str
    points: int
    item: str
    redeemed_on: date
    balance: int = Field(description="after this redemption")


@router.post("/points-rules", response_model=RulesOut)
async def publish_rules(body: RulesIn, svc: Svc, who: CurrentPrincipal) -> RulesOut:
    """Publish a new version of a province's points rules (积分规则)."""
    # A province's own (or the national) token only: a county's is answered as elsewhere.
    if not who.can_see(body.region_code) or len(who.region_scope) > 2:
        raise NotFound("region_code", f"province {body.region_code} not found")
    rid = rules.rules_id(body.region_code)
    province = commands.Aggregate(
        svc.store.rules,
        PointsRules,
        region=region_code,
        missing="province",
        field="region_code",
        initial=lambda: PointsRules(rules_id=rid, region_code=body.region_code),
    )
    saved = await province.change(
        who,
        rid,
        lambda r: rules.publish_rules(r, **fields(body, exclude={"region_code"}), today=today()),
    )
    return RulesOut(**saved.state.model_dump())


@router.get("/points-rules/{province}", response_model=RulesOut)
async def get_rules(
    province: Annotated[str, Path(pattern=r"^\d{2}$")], svc: Svc, who: CurrentPrincipal
) -> RulesOut:
    """The rules of the caller's province (a county token reads its province's rules)."""
    found = await svc.store.rules_for(province) if who.region_scope[:2] == province else None
    if found is None:
        raise NotFound("province", f"no points rules for {province}")
    return RulesOut(**found.model_dump())


@router.post(
    "/volunteers/{volunteer_id}/redemptions",
    response_model=RedemptionOut,
    status_code=201,
    responses={
        400: {"description": "Idempotency-Key missing"},
        409: {"description": "not enough points, or the same key is in flight"},
        422: {"description": "invalid body, or the key was used with another body"},
    },
)
async def redeem(
    volunteer_id: str,
    body: RedeemIn,
    request: Request,
    svc: Svc,
    who: CurrentPrincipal,
    key: Annotated[str, Depends(require_key)],
) -> Any:
    """Redeem points at the public-welfare supermarket (公益超市). Same key and body: the
    first answer again; the balance never goes below zero, also under concurrent requests."""
    v, _ = await svc.volunteers.load(who, volunteer_id)
    scope = f"{who.subject}|{volunteer_id}"
    redemption_id = effect_id("rdm-", scope, key)

    async def work() -> tuple[int, Any]:
        box: dict[str, Redemption] = {}

        def decide(ledger: Ledger) -> tuple[Ledger, list[Event]]:
            new, r, events = rules.redeem(
                ledger,
                v,
                redemption_id=redemption_id,
                points=body.points,
                item=body.item,
                on=today(),
            )
            box["r"] = r
            return new, events

        await change_ledger(svc, who, v, decide)
        out = RedemptionOut(volunteer_id=volunteer_id, **box["r"].model_dump())
        return 201, out.model_dump(mode="json")

    return await svc.store.idempotency.run(
        scope=scope,
        key=key,
        fingerprint=fingerprint("POST", request.url.path, body.model_dump(mode="json")),
        work=work,
    )
