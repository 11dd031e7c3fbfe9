"""A funding organisation's allocations as a 360Giving data package (the 360Giving Data
Standard, schema 1.4: https://standard.threesixtygiving.org), so grant-makers' data tools
read a foundation's giving through the platform as they read a British trust's.

One grant per allocation, its amount net of what was taken back. Identifiers
(docs/decisions/0043-disclosure.md):

- a grant: `360G-wushe-<allocation id>` (the publisher prefix, then an id that never
  changes and names no person);
- an organisation with a unified social credit code (统一社会信用代码): `CN-USCI-<code>`,
  the org-id.guide list for it; one without: `360G-wushe-<its id here>`, as the standard
  asks for organisations without a registration number;
- a station (社工站) is not a legal person: the recipient is its operating organisation
  (承接机构) by its credit code with the station as `department`, or, without one, the
  station itself under the platform's prefix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from pydantic import BaseModel

from donations.domain.disclosure import (
    FUND_KINDS,
    PURPOSES,
    Refs,
    donor_source,
    yuan,
)
from donations.domain.donors import Donor
from donations.domain.funds import Allocation, Fund
from donations.domain.reconciliation import PARTNER_KINDS

PREFIX = "360G-wushe"  # the platform's 360Giving publisher prefix
USCI = "CN-USCI"  # org-id.guide's list of unified social credit codes
VERSION = "1.4"  # of the 360Giving schema the package follows
LOCAL_AREA = "GLS060"  # locationScope: a small area (a township)


class Organization(BaseModel):
    id: str
    name: str
    department: str | None = None


# Field names are the standard's (camelCase).


class Location(BaseModel):
    id: str
    name: str
    countryCode: str = "CN"
    geoCode: str
    description: str = "乡镇（街道）：国家统计用区划代码"


class Period(BaseModel):
    startDate: date
    endDate: date


class GrantProgramme(BaseModel):
    code: str
    title: str


class Grant(BaseModel):
    id: str
    title: str
    description: str
    currency: str = "CNY"
    amountAwarded: float
    amountDisbursed: float
    awardDate: date
    plannedDates: list[Period] | None = None
    recipientOrganization: list[Organization]
    fundingOrganization: list[Organization]
    beneficiaryLocation: list[Location]
    locationScope: str = LOCAL_AREA
    grantProgramme: list[GrantProgramme] | None = None
    dateModified: datetime | None = None


class Publisher(BaseModel):
    identifier: str
    name: str


class GivingPackage(BaseModel):
    """A 360Giving data package: `{"grants": [...]}` with its metadata."""

    version: str = VERSION
    title: str
    description: str
    identifier: str
    issued: datetime
    modified: datetime | None = None
    publisher: Publisher
    grants: list[Grant]


def publishes_grants(donor: Donor | None) -> bool:
    """Only an organisation's giving is published as grants: a person's never, nor an
    anonymous gift's (it has no funder to publish under)."""
    return donor is not None and not donor.anonymous and donor.kind in PARTNER_KINDS


def org_identifier(credit_code: str | None, local_id: str) -> str:
    return f"{USCI}-{credit_code}" if credit_code else f"{PREFIX}-{local_id}"


def funding_organisation(funder: Donor, refs: Refs, name: str) -> Organization:
    org = refs.organisations.get(funder.org_id) if funder.org_id else None
    return Organization(
        id=org_identifier(org.credit_code if org else None, funder.donor_id), name=name
    )


def recipient(a: Allocation, refs: Refs) -> Organization:
    station = refs.stations.get(a.station_id)
    name = refs.station_name(a.station_id, a.region_code)
    operator = refs.organisations.get(station.operator_org_id or "") if station else None
    if operator is not None and operator.credit_code:
        return Organization(
            id=org_identifier(operator.credit_code, operator.org_id),
            name=operator.name,
            department=name,
        )
    return Organization(id=org_identifier(None, a.station_id), name=name)


def grant(
    fund: Fund, a: Allocation, funder: Organization, refs: Refs, modified: datetime | None
) -> Grant:
    station = refs.station_name(a.station_id, a.region_code)
    place = refs.place(a.region_code)
    programme = refs.programme_name(fund.programme_id) if fund.programme_id else None
    spent = [
        f"{PURPOSES.get(d.purpose, d.purpose)} {yuan(d.net)} 元"
        for d in fund.disbursements.values()
        if d.allocation_id == a.allocation_id and d.net
    ]
    description = (
        f"{funder.name}{FUND_KINDS[fund.kind]}的慈善资金，于 {a.allocated_on:%Y年%m月%d日} "
        f"拨付给{place.full_name}的{station}"
        + (f"，用于“{programme}”项目" if programme else "")
        + f"：拨付 {yuan(a.amount_fen)} 元"
        + (f"，收回 {yuan(a.reversed_fen)} 元" if a.reversed_fen else "")
        + f"，净额 {yuan(a.net)} 元；已支出 {yuan(a.disbursed_fen)} 元"
        + (f"（{'，'.join(spent)}）" if spent else "")
        + "。"
    )
    planned = (
        [Period(startDate=fund.period_start, endDate=fund.period_end)]
        if fund.period_start and fund.period_end
        else None
    )
    return Grant(
        id=f"{PREFIX}-{a.allocation_id}",
        title=f"{programme}：{station}" if programme else f"慈善资金拨付：{station}",
        description=description,
        amountAwarded=a.net / 100,
        amountDisbursed=a.disbursed_fen / 100,
        awardDate=a.allocated_on,
        plannedDates=planned,
        recipientOrganization=[recipient(a, refs)],
        fundingOrganization=[funder],
        beneficiaryLocation=[
            Location(id=f"CN-{place.code}", name=place.full_name, geoCode=place.code)
        ],
        grantProgramme=[GrantProgramme(code=fund.programme_id, title=programme)]
        if fund.programme_id and programme
        else None,
        dateModified=modified,
    )


def giving_package(
    funder: Donor,
    funds: Sequence[Fund],
    refs: Refs,
    modified: Mapping[str, datetime | None],
    issued: datetime,
) -> GivingPackage:
    """Every allocation of the funder's funds as a grant, oldest first."""
    name = donor_source(funder, refs).name
    org = funding_organisation(funder, refs, name)
    grants = [
        grant(f, a, org, refs, modified.get(f.fund_id))
        for f in funds
        for a in f.allocations.values()
    ]
    grants.sort(key=lambda g: (g.awardDate, g.id))
    changed = [m for m in modified.values() if m is not None]
    return GivingPackage(
        title=f"{name}：资助数据",
        description=(
            f"{name}经五社联动平台拨付到社工站的慈善资金，每笔拨付为一项资助（grant），"
            "金额为扣除收回后的净额（人民币元）。"
        ),
        identifier=f"{PREFIX}-{funder.donor_id}",
        issued=issued,
        modified=max(changed) if changed else None,
        publisher=Publisher(identifier=org.id, name=name),
        grants=grants,
    )
