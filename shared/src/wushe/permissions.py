"""Who may do what: the one permission table, every route of every service → the roles that
may call it, and its enforcement.

The check runs where every request learns its caller (`wushe.auth.current_principal`): a
route with no row here is refused to everyone, and the service factory will not start an
app with such a route (`check_complete`). Roles say *what* a caller may do; the scope in the
same token says *where* (a region, a station, a funder id), checked by the command path
(`wushe.commands`) and the reads. Separation of duties (the recorder never verifies) is the
domain's rule, on the token's subject.

`docs/permissions.md` shows this table rendered (`render`); a test fails when they differ
(`WUSHE_UPDATE_PERMISSIONS=1 uv run --frozen pytest tests/structure -k permissions` writes it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wushe.errors import RoleRefused

if TYPE_CHECKING:
    from wushe.auth import Principal


@dataclass(frozen=True)
class Rule:
    """The roles that may call a route (`admin` holds every role of its province but the
    platform's), or `public`: no token at all."""

    roles: frozenset[str]
    public: bool = False

    def allows(self, who: Principal) -> bool:
        return self.public or any(who.has_role(r) for r in self.roles)


def roles(*groups: Iterable[str]) -> Rule:
    return Rule(frozenset(r for g in groups for r in g))


PUBLIC = Rule(frozenset(), public=True)

# The groups the table is written in.
STATION = ("station_worker", "social_worker")  # record at their own stations
CASEWORK = ("social_worker",)  # a client's full identity, their own clients only
COUNTY = ("county_officer",)
OFFICERS = ("county_officer", "city_officer", "province_officer")  # verify, approve, close
ABOVE_COUNTY = ("city_officer", "province_officer")  # approve corrections, reopen months
PROVINCE = ("province_officer",)  # rules, programmes, targets, evaluations, ratings
FUNDER = ("funder",)  # its own funds, lineage and feed
AUDITOR = ("auditor",)
PLATFORM = ("platform_operator",)
READERS = (*STATION, *OFFICERS, *AUDITOR)  # everything in their scope, read-only for some

READ = roles(READERS)
RECORD = roles(STATION)
# Public geography (regions, boundary changes): anyone signed in but a foundation, which
# sees its own money and nothing else.
SIGNED_IN = roles(READERS, PLATFORM)

# The routes the service factory gives every service.
EVERY_SERVICE: dict[str, Rule] = {
    "GET /health/live": PUBLIC,
    "GET /health/ready": PUBLIC,
    "GET /audit": roles(AUDITOR),
}

TABLE: dict[str, dict[str, Rule]] = {
    "registry": {
        "GET /regions": SIGNED_IN,
        "GET /regions/{code}": SIGNED_IN,
        "GET /regions/{code}/children": SIGNED_IN,
        "GET /regions/{code}/coverage": READ,
        "GET /boundary-changes": SIGNED_IN,
        "POST /boundary-changes": roles(PROVINCE),
        "GET /stations": READ,
        "POST /stations": roles(OFFICERS),
        "POST /imports/stations": roles(OFFICERS),
        "GET /imports/stations/template.xlsx": READ,
        "GET /stations/{station_id}": READ,
        "PATCH /stations/{station_id}": roles(STATION, OFFICERS),
        "POST /stations/{station_id}/status": roles(OFFICERS),
        "POST /stations/{station_id}/rooms": roles(OFFICERS),
        "POST /stations/{station_id}/ratings": roles(PROVINCE),
        "GET /stations/{station_id}/region-history": READ,
        "GET /stations/{station_id}/history": READ,
        "GET /stations/{station_id}/rooms": READ,
        "GET /organisations": READ,
        "POST /organisations": roles(OFFICERS),
        "GET /organisations/{org_id}": READ,
        "PATCH /organisations/{org_id}": roles(OFFICERS),
        "GET /social-workers": READ,
        "POST /social-workers": roles(OFFICERS),
        "GET /social-workers/{worker_id}": READ,
        "PATCH /social-workers/{worker_id}": roles(OFFICERS),
        "POST /social-workers/{worker_id}/certification": roles(OFFICERS),
        "POST /social-workers/{worker_id}/assignments": roles(OFFICERS),
        "POST /imports/social-workers": roles(OFFICERS),
        "GET /imports/social-workers/template.xlsx": READ,
        "GET /programmes": READ,
        "POST /programmes": roles(PROVINCE),
        "GET /programmes/{programme_id}": READ,
        "PATCH /programmes/{programme_id}": roles(PROVINCE),
        "POST /programmes/{programme_id}/enrolments": roles(PROVINCE),
        "POST /programmes/{programme_id}/enrolments/{station_id}/withdrawal": roles(PROVINCE),
        "GET /closed-months": READ,
        "POST /closed-months": roles(OFFICERS),
        "POST /closed-months/{region_code}/{month}/reopening": roles(ABOVE_COUNTY),
    },
    "activities": {
        "GET /activities": READ,
        "POST /activities": RECORD,
        "POST /imports/activities": RECORD,
        "GET /imports/activities/template.xlsx": READ,
        "POST /imports/household-visits": RECORD,
        "GET /imports/household-visits/template.xlsx": READ,
        "POST /imports/client-files": RECORD,
        "GET /imports/client-files/template.xlsx": READ,
        "GET /activities/{activity_id}": READ,
        "POST /activities/{activity_id}/held": RECORD,
        "POST /activities/{activity_id}/cancellation": RECORD,
        "POST /activities/{activity_id}/corrections": RECORD,
        "POST /activities/{activity_id}/corrections/{correction_id}/approval": roles(ABOVE_COUNTY),
        "POST /activities/{activity_id}/verification": roles(OFFICERS),
        "GET /corrections/pending": READ,
        "GET /verifications/pending": READ,
        "POST /household-visits": RECORD,
        "GET /household-visits/{visit_id}": READ,
        "GET /household-visits/by-type": roles(OFFICERS, AUDITOR),
        "POST /client-files": RECORD,
        "GET /client-files/{file_id}": READ,
        "GET /client-files/{file_id}/identity": roles(CASEWORK),
        "POST /client-files/{file_id}/services": RECORD,
        "POST /client-files/{file_id}/closure": RECORD,
    },
    "volunteers": {
        "POST /certificates/verify": PUBLIC,
        "GET /volunteers": READ,
        "POST /volunteers": RECORD,
        "POST /imports/volunteers": RECORD,
        "GET /volunteers/{volunteer_id}": READ,
        "POST /volunteers/{volunteer_id}/move": RECORD,
        "POST /volunteers/{volunteer_id}/deregister": RECORD,
        "POST /volunteers/{volunteer_id}/backbone": RECORD,
        "POST /volunteers/{volunteer_id}/backbone/demote": RECORD,
        "GET /teams": READ,
        "POST /teams": RECORD,
        "GET /teams/{team_id}": READ,
        "POST /teams/{team_id}/members": RECORD,
        "POST /teams/{team_id}/members/{volunteer_id}/leave": RECORD,
        "POST /teams/{team_id}/leader": RECORD,
        "POST /shifts": RECORD,
        "GET /shifts/{shift_id}": READ,
        "GET /volunteers/{volunteer_id}/attendances": READ,
        "POST /volunteers/{volunteer_id}/attendances": RECORD,
        "POST /volunteers/{volunteer_id}/attendances/{attendance_id}/check-out": RECORD,
        "POST /volunteers/{volunteer_id}/attendances/{attendance_id}/approve": RECORD,
        "POST /volunteers/{volunteer_id}/attendances/{attendance_id}/reject": RECORD,
        "POST /volunteers/{volunteer_id}/attendances/{attendance_id}/corrections": RECORD,
        "GET /attendances/unmatched": READ,
        "GET /attendances/pending": READ,
        "POST /points-rules": roles(PROVINCE),
        "GET /points-rules/{province}": READ,
        "POST /volunteers/{volunteer_id}/redemptions": RECORD,
        "POST /volunteers/{volunteer_id}/certificates": RECORD,
        "GET /exports/national-service-records.csv": READ,
    },
    "donations": {
        "POST /donors": roles(ABOVE_COUNTY),
        "GET /donors/{donor_id}": roles(OFFICERS, AUDITOR),
        "POST /pledges": roles(ABOVE_COUNTY),
        "POST /pledges/{fund_id}/gifts": roles(ABOVE_COUNTY),
        "POST /gifts": roles(ABOVE_COUNTY),
        "GET /funds": roles(OFFICERS, AUDITOR, FUNDER),
        "GET /funds/{fund_id}": roles(OFFICERS, AUDITOR, FUNDER),
        "POST /funds/{fund_id}/allocations": roles(ABOVE_COUNTY),
        "POST /funds/{fund_id}/allocation-plans": roles(ABOVE_COUNTY),
        "POST /funds/{fund_id}/disbursements": roles(OFFICERS),
        "POST /funds/{fund_id}/reversals": roles(ABOVE_COUNTY),
        "GET /reconciliation": roles(OFFICERS, AUDITOR),
        # Charitable giving is public (慈善法, decision 0043): anyone, no token, never a person.
        "GET /disclosure/funds/{fund_id}": PUBLIC,
        "GET /disclosure/funds/{fund_id}.csv": PUBLIC,
        "GET /disclosure/funds/{fund_id}/page": PUBLIC,
        "GET /disclosure/programmes/{programme_id}": PUBLIC,
        "GET /disclosure/programmes/{programme_id}.csv": PUBLIC,
        "GET /disclosure/programmes/{programme_id}/page": PUBLIC,
        "GET /disclosure/funders/{funder_id}/360giving.json": PUBLIC,
        # A foundation's own webhooks (decision 0042): its integration, not money to oversee.
        "POST /webhooks": roles(FUNDER),
        "GET /webhooks": roles(FUNDER),
        "GET /webhooks/{subscription_id}": roles(FUNDER),
        "POST /webhooks/{subscription_id}/replay": roles(FUNDER),
        "DELETE /webhooks/{subscription_id}": roles(FUNDER),
        "GET /funds/{fund_id}/statements": roles(OFFICERS, AUDITOR, FUNDER),
        "POST /funds/{fund_id}/statements": roles(OFFICERS),
    },
    "training": {
        "POST /courses": roles(PROVINCE),
        "GET /courses/{course_id}": READ,
        "GET /sessions": READ,
        "POST /sessions": roles(OFFICERS),
        "GET /sessions/{session_id}": READ,
        "POST /sessions/{session_id}/attendance": roles(OFFICERS),
        "POST /imports/training-attendance": roles(OFFICERS),
        "GET /imports/training-attendance/template.xlsx": READ,
        "GET /supervision-visits": READ,
        "POST /supervision-visits": roles(OFFICERS),
        "POST /supervision-visits/{visit_id}/completion": roles(OFFICERS),
        "POST /supervision-visits/{visit_id}/items/{item_id}/closure": roles(OFFICERS),
        "GET /supervision/overdue": READ,
        "POST /evaluations": roles(PROVINCE),
        "GET /evaluations/{evaluation_id}": READ,
    },
    "projector": {
        "GET /views/{view}": READ,
        "GET /views/{view}.csv": READ,
        "GET /views/programmes/{programme_id}/progress": READ,
        "GET /views/lineage/{funder_id}": roles(OFFICERS, AUDITOR, FUNDER),
        "POST /views/rebuilds": roles(PLATFORM),
        "GET /views/rebuilds/{rebuild_id}": roles(PLATFORM),
    },
}


def rows_of(service: str, own: Mapping[str, Rule] | None = None) -> Mapping[str, Rule]:
    """A service's rows: every service's, and its own (by default its rows in the table; a
    service the table does not know has only every service's)."""
    return {**EVERY_SERVICE, **(TABLE.get(service, {}) if own is None else own)}


def check(who: Principal, rows: Mapping[str, Rule], method: str, path: str) -> None:
    """403 unless one of the caller's roles may call this route; a route without a row is
    refused to everyone (a route is closed until the table opens it)."""
    rule = rows.get(f"{method} {path}")
    if rule is None:
        raise RoleRefused("roles", f"{method} {path} has no entry in the permission table")
    if not rule.allows(who):
        needed = ", ".join(sorted(rule.roles))
        held = ", ".join(sorted(who.roles)) or "none"
        raise RoleRefused("roles", f"{method} {path} needs one of: {needed} (token holds {held})")


def missing(rows: Mapping[str, Rule], routes: Iterable[tuple[str, str]]) -> list[str]:
    """The routes (method, path) of an app that have no row."""
    return [f"{m} {p}" for m, p in routes if f"{m} {p}" not in rows]


# --------------------------------------------------------------------------- the document

ROLE_NAMES: Mapping[str, str] = {
    "station_worker": "站点工作人员 station staff",
    "social_worker": "驻站社工 resident social worker",
    "county_officer": "县级民政 county official",
    "city_officer": "市级民政 city official",
    "province_officer": "省级民政 province official",
    "funder": "基金会 foundation",
    "auditor": "审计 auditor",
    "platform_operator": "平台运维 platform operator",
}


def render() -> str:
    """The table as Markdown (docs/permissions.md holds it between two markers): the roles,
    then one section per service, one row per route, a mark per role."""
    columns = list(ROLE_NAMES)
    lines = [
        "| role | who |",
        "|---|---|",
        *(f"| `{r}` | {ROLE_NAMES[r]} |" for r in columns),
        "",
    ]
    for service, rows in {"every service": EVERY_SERVICE, **TABLE}.items():
        lines += [f"### {service}", "", "| route | " + " | ".join(columns) + " |"]
        lines.append("|---|" + "---|" * len(columns))
        for route, rule in sorted(rows.items(), key=lambda kv: (kv[0].split()[1], kv[0])):
            marks = (
                ["public"] * len(columns)
                if rule.public
                else ["✓" if r in rule.roles else "" for r in columns]
            )
            lines.append(f"| `{route}` | " + " | ".join(marks) + " |")
        lines.append("")
    return "\n".join(lines)
