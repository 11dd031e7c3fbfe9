"""Bulk import of social workers (社工花名册) and their station assignments (驻站): CSV,
NDJSON or XLSX rows, English field names or the Chinese headers of the import template.

The ID number is the row's reference: one person is one worker (the id is its blind index),
so the same file imported again finds every worker as it left them and records nothing.
Rows are decided in memory against the workers read before the import, like the station
ledger (`registry.domain.ledger`); personal fields are sealed exactly as a single
registration seals them (`register_worker`), and never leave the row's decision."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from registry.domain import social_workers as sw
from registry.domain.ledger import Outcome, PlannedCommit
from registry.domain.stations import Station, station_id_for
from wushe.contracts.events import registry as ev
from wushe.errors import DomainError

# Chinese template headers -> field names.
ALIASES = {
    "姓名": "name",
    "身份证号码": "id_number",
    "身份证号": "id_number",
    "手机号码": "phone",
    "联系电话": "phone",
    "登记区划代码": "region_code",
    "区划代码": "region_code",
    "职业资格": "certification",
    "全科社工": "general_practice",
    "驻站社工站": "station_id",
    "社工站编号": "station_id",
    "驻站日期": "from_date",
}
CERTIFICATION_ALIASES: dict[str, ev.Certification] = {
    "无": "none",
    "助理社会工作师": "assistant_social_worker",
    "社会工作师": "social_worker",
    "高级社会工作师": "senior",
}
YES_NO = {"是": True, "否": False}


def normalise(rec: dict[str, Any]) -> dict[str, Any]:
    """Chinese headers and spellings -> the row's fields (`rec`: one cleaned record). A
    station may be named by its id or by its township's (a centre's: county's) code."""
    out: dict[str, Any] = {}
    for key, value in rec.items():
        name = ALIASES.get(key, key)
        if isinstance(value, int | float) and name in ("id_number", "phone", "region_code"):
            value = str(int(value))  # a spreadsheet's number cell
        if name == "certification" and isinstance(value, str):
            value = CERTIFICATION_ALIASES.get(value, value)
        if name == "general_practice" and isinstance(value, str):
            value = YES_NO.get(value, value)
        if name == "station_id":
            value = str(int(value)) if isinstance(value, int | float) else value
            if isinstance(value, str) and value.isdigit() and len(value) in (6, 9):
                value = station_id_for(value)
        out[name] = value
    return out


@dataclass(frozen=True)
class WorkerRow:
    """One row's facts, validated as a body (`SocialWorkerIn` and an assignment)."""

    name: str
    id_number: str
    phone: str | None
    region_code: str
    certification: ev.Certification | None  # None: as registered ("none" for a new one)
    general_practice: bool | None
    station_id: str | None
    from_date: date | None


@dataclass
class WorkerPlan:
    """The workers the rows name (read in one query, by id), the stations the caller can
    see (by id), whether a region is in the caller's scope, and the commits the rows decided
    so far."""

    existing: dict[str, tuple[sw.SocialWorker, int]]
    stations: dict[str, Station]
    today: date
    vault: sw.Sealer
    visible: Callable[[str], bool]
    commits: list[PlannedCommit] = field(default_factory=list)

    def decide(self, row: int, r: WorkerRow) -> tuple[Outcome, str]:
        """One row: its outcome and its worker's id (a broken rule raises)."""
        station = None
        if r.station_id is not None:
            station = self.stations.get(r.station_id)
            if station is None:
                raise DomainError("station_id", f"no station {r.station_id}")
        elif r.from_date is not None:
            raise DomainError("from_date", "驻站日期需要驻站社工站 (give the station too)")
        _, id_number, _ = sw.check_worker_identity(
            name=r.name, id_number=r.id_number, phone=r.phone
        )
        worker_id = sw.worker_id_for(id_number, self.vault)
        known = self.existing.get(worker_id)
        outcome: Outcome
        if known is None:
            worker, event = sw.register_worker(
                name=r.name,
                id_number=r.id_number,
                phone=r.phone,
                region_code=r.region_code,
                certification=r.certification or "none",
                general_practice=bool(r.general_practice),
                vault=self.vault,
            )
            version, events, outcome = 0, [event], "created"
        else:
            worker, version = known
            if not self.visible(worker.region_code):  # as POST /social-workers refuses it
                raise DomainError(
                    "id_number", "a social worker with this ID number is registered elsewhere"
                )
            worker, events = sw.change_contact(worker, name=r.name, phone=r.phone, vault=self.vault)
            worker, certified = sw.certify(
                worker,
                r.certification or worker.certification,
                worker.general_practice if r.general_practice is None else r.general_practice,
            )
            events = [*events, *certified]
            outcome = "updated"
        if station is not None:
            worker, assigned = sw.assign(
                worker, station, r.from_date or self.today, today=self.today
            )
            events = [*events, *assigned]
        if not events:
            return "unchanged", worker_id
        self.commits.append(PlannedCommit(row, outcome, worker_id, worker, version, events))
        self.existing[worker_id] = (worker, version + 1)
        return outcome, worker_id
