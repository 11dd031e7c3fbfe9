"""Provincial station ledgers (台账): CSV, NDJSON or XLSX rows into stations, with a per-row
report. Column names may be English field names or the usual Chinese headers of a
provincial ledger. Rows are decided in memory against the stations read before the import,
so a row that matches the registry costs nothing and emits nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from registry.domain.regions import RegionTree
from registry.domain.stations import (
    Station,
    StationDetails,
    StationStatus,
    change_details,
    change_status,
    opening_day,
    register_station,
)
from wushe.contracts import Event
from wushe.errors import DomainError

# Chinese ledger headers -> field names.
ALIASES = {
    "乡镇街道代码": "region_code",
    "统计用区划代码": "region_code",
    "区划代码": "region_code",
    "区县代码": "region_code",  # a county's centre (社工总站)
    "社工站名称": "name",
    "名称": "name",
    "承接机构": "operator_org_id",
    "承接机构编号": "operator_org_id",
    "合同开始": "contract_start",
    "合同开始日期": "contract_start",
    "合同结束": "contract_end",
    "合同结束日期": "contract_end",
    "功能": "functions",
    "三站合一": "functions",
    "热线": "hotline",
    "服务热线": "hotline",
    "状态": "status",
    "开业日期": "opened_on",
    "建站日期": "opened_on",
    "成立日期": "opened_on",
}
FUNCTION_ALIASES = {
    "未成年人保护": "minors_protection",
    "儿童之家": "minors_protection",
    "养老服务": "elder_service",
    "为老服务": "elder_service",
}
STATUS_ALIASES = {
    "筹建": "planned",
    "运营": "operating",
    "运营中": "operating",
    "暂停": "suspended",
    "关闭": "closed",
}


def normalise(rec: dict[str, Any]) -> dict[str, Any]:
    """Chinese headers and spellings of a provincial ledger -> the station row's fields
    (`rec`: one cleaned record, empty cells dropped and text stripped)."""
    out: dict[str, Any] = {}
    for key, value in rec.items():
        name = ALIASES.get(key, key)
        if isinstance(value, int | float) and name == "region_code":
            value = str(int(value))
        if name == "functions" and isinstance(value, str):
            parts = [p.strip() for p in value.replace("，", ";").replace(",", ";").split(";")]
            value = [FUNCTION_ALIASES.get(p, p) for p in parts if p]
        if name == "status" and isinstance(value, str):
            value = STATUS_ALIASES.get(value, value)
        if (
            name == "operator_org_id"
            and isinstance(value, str)
            and len(value) == 18
            and not value.startswith("org-")
        ):
            value = f"org-{value.upper()}"  # a credit code names its organisation
        if name == "hotline" and isinstance(value, int | float):
            value = str(int(value))
        out[name] = value
    return out


Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class PlannedCommit:
    """A commit an import will write (a station's, a worker's): to the stream of `state`'s
    `stream_id` after `version`, these events, this state."""

    row: int
    outcome: Outcome
    stream_id: str
    state: BaseModel
    version: int
    events: list[Event]


@dataclass
class LedgerPlan:
    """The stations of the importing region by township (read in one query), and the
    commits the rows decided so far."""

    tree: RegionTree
    existing: dict[str, tuple[Station, int]]
    today: date
    commits: list[PlannedCommit] = field(default_factory=list)

    def decide(
        self,
        row: int,
        region_code: str,
        details: StationDetails,
        status: StationStatus | None,
        opened_on: date | None = None,
    ) -> Outcome:
        """One row: 'created', 'updated' or 'unchanged' (a broken rule raises). `details`
        holds the row's given fields only; `status` None when the row names none;
        `opened_on` the opening date (开业日期) when the row gives one."""
        known = self.existing.get(region_code)
        outcome: Outcome
        if known is None:
            station, event = register_station(
                self.tree.require(region_code),
                details,
                status=status or "planned",
                today=self.today,
                opened_on=opened_on,
            )
            version, events, outcome = 0, [event], "created"
        else:
            current, version = known
            opened = opening_day(current)
            if opened_on is not None and opened_on != opened:
                # Views counted the station from its opening day: moving it is not a ledger
                # row's business.
                raise DomainError(
                    "opened_on",
                    f"该社工站已登记开业日期 {opened}，不能更改 (the station is registered as "
                    f"opened on {opened}; the opening date cannot change)",
                )
            station, events = change_details(current, details)
            if status is not None and status != station.status:
                station, status_event = change_status(
                    station, status, reason="ledger import", effective_date=self.today
                )
                events = [*events, status_event]
            outcome = "updated" if events else "unchanged"
        if events:
            self.commits.append(
                PlannedCommit(row, outcome, station.station_id, station, version, events)
            )
            self.existing[region_code] = (station, version + 1)
        return outcome
