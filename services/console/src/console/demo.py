"""The local stack's demo people: a province official, a county official, a station worker
and the foundation of the scenario, found through the APIs (the first station of the
province, its county, the first funder) and signed in with tokens from the dev keys.

Only in environment=local: a deployment's people come from its identity provider."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import FastAPI

from console.backends import Api, ApiProblem, Backends
from console.settings import ConsoleSettings
from wushe.auth import NO_REGION, DevKeys


@dataclass(frozen=True)
class DemoPerson:
    key: str
    role: str
    name: str  # who they are, in Chinese, with their region or station
    region: str | None
    stations: tuple[str, ...] = ()
    funder_id: str | None = None


def enabled(settings: ConsoleSettings) -> bool:
    return settings.local and settings.dev_signin


def dev_keys(settings: ConsoleSettings) -> DevKeys:
    return DevKeys.load_or_create(settings.dev_keys_dir or DevKeys.default_dir())


def token_for(settings: ConsoleSettings, person: DemoPerson, *, ttl_s: int | None = None) -> str:
    return dev_keys(settings).issue(
        subject=f"demo-{person.key}",
        region_scope=person.region,
        roles=[person.role],
        ttl_s=ttl_s or settings.session_ttl_s,
        stations=list(person.stations) or None,
        funder_id=person.funder_id,
        name=person.name,
    )


def token_expiry(token: str) -> float:
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return float(exp) if exp else time.time()


async def region_name(app: FastAPI, token: str, code: str) -> str:
    """The region's Chinese name ("江西省", "东湖区"), or the code when the registry cannot say."""
    if not code or code == NO_REGION:
        return ""
    backends: Backends = app.state.backends
    try:
        region = await backends.for_token(token).get("registry", f"/regions/{code}")
    except ApiProblem:
        return code
    return str(region.get("name") or code)


async def people(app: FastAPI) -> list[DemoPerson]:
    """The demo people of the province's scenario; found once, then remembered."""
    known: list[DemoPerson] | None = getattr(app.state, "demo_people", None)
    if known:
        return known
    settings: ConsoleSettings = app.state.settings
    province = settings.dev_province
    finder = DemoPerson("finder", "province_officer", "", province)
    api = app.state.backends.for_token(token_for(settings, finder, ttl_s=120))
    stations, funds, province_region = await api.both(
        api.get("registry", "/stations", {"region": province, "limit": 1}),
        api.get("donations", "/funds", {"limit": 1}),
        api.get("registry", f"/regions/{province}"),
    )
    found = [
        DemoPerson(
            f"province_officer-{province}",
            "province_officer",
            f"{province_region['name']}民政厅 · 省级民政干部",
            province,
        )
    ]
    if stations["items"]:
        station: dict[str, Any] = stations["items"][0]
        county_code = station["region_code"][:6]
        county = await api.get("registry", f"/regions/{county_code}")
        found.append(
            DemoPerson(
                f"county_officer-{county_code}",
                "county_officer",
                f"{county['name']}民政局 · 县级民政干部",
                county_code,
            )
        )
        found.append(
            DemoPerson(
                f"station_worker-{station['station_id']}",
                "station_worker",
                f"{station['name']} · 社工站工作人员",
                county_code,
                stations=(station["station_id"],),
            )
        )
    if funds["items"]:
        fund: dict[str, Any] = funds["items"][0]
        funder = fund["funder_id"]
        name = await _donor_name(api, str(fund.get("donor_id") or funder))
        found.append(
            DemoPerson(
                f"funder-{funder}", "funder", f"{name} · 基金会项目官员", None, funder_id=funder
            )
        )
    if len(found) == 4:  # the scenario is loaded: remember them
        app.state.demo_people = found
    return found


async def _donor_name(api: Api, donor_id: str) -> str:
    """The foundation's name as it registered (显示名称), or its id when the donor is unknown."""
    try:
        donor = await api.get("donations", f"/donors/{donor_id}")
    except ApiProblem:
        return donor_id
    return str(donor.get("display_name") or donor_id)
