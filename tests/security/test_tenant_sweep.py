"""Another province's token on every route of every service, read from each service's own
OpenAPI: a record of Jiangxi (36) asked by Hubei (42), even by Hubei's admin, is answered
exactly like a record that does not exist. By-id routes, reads and writes alike, answer 404
byte for byte as for a missing id; a create that names a Jiangxi record in its body is
refused exactly as one naming a missing record; lists, exports, the audit and the views show
none of Jiangxi's ids, places or people, asked plainly or filtered by a Jiangxi value; and
none of it writes anything. A route added later is swept too: one without a body here fails
the test until it gets one."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import jwt

from wushe import clock, permissions
from wushe.auth import DevKeys
from wushe.store import create_mongo_client
from wushe_dev import scenario
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import person, wait_for

SERVICES = ("registry", "activities", "volunteers", "donations", "training", "projector")
OWNER, FOREIGN = "36", "42"
TODAY = clock.today()
YESTERDAY = TODAY - timedelta(days=1)
TOWNSHIPS = ("360402001", "360402002")
# The month each province's county closes (数据审核/锁定): long past, so that no record here,
# nor any other test's sharing the topics, lies in it.
CLOSED_MONTH = "2020-12"


@dataclass(frozen=True)
class Province:
    """What a province's records are made of: two townships, an organisation, three people."""

    code: str
    townships: tuple[str, ...]
    organisation: dict[str, str]
    worker: dict[str, str]
    volunteer: dict[str, str]
    client: dict[str, str]


JIANGXI = Province(
    OWNER,
    TOWNSHIPS,
    {"name": "九江蓝马甲公益服务中心", "kind": "foundation", "credit_code": "91350100M000100Y43"},
    person("罗春梅", "19880312", "027", "13970020001"),
    person("钟国平", "19590704", "015", "13970020002"),
    person("邹秀英", "19420115", "048", "13970020003"),
)


def hubei(townships: list[tuple[str, str]]) -> Province:
    """Hubei's own records, on two of its townships (from the registry's region table)."""
    codes = tuple(code for code, _ in townships[:2])
    county = codes[0][:6]
    return Province(
        FOREIGN,
        codes,
        {"name": "武汉公益基金会", "kind": "foundation", "credit_code": "53420100MJH000217Q"},
        person("汤丽华", "19860421", "031", "13870030001", county),
        person("龚建军", "19570913", "017", "13870030002", county),
        person("程桂芝", "19400628", "044", "13870030003", county),
    )


# Charitable giving's public accounts (decision 0043): every province's, to anyone.
DISCLOSED = "public on purpose: charitable disclosure (慈善法), to anyone, never naming a person"
# Routes that name no province's record, each for a reason.
NOT_SCOPED = {
    ("GET", "/health/live"): "liveness, nothing of anyone",
    ("GET", "/health/ready"): "readiness, nothing of anyone",
    ("POST", "/certificates/verify"): "public on purpose: checks the signature a holder shows",
    ("GET", "/disclosure/funds/{fund_id}"): DISCLOSED,
    ("GET", "/disclosure/funds/{fund_id}.csv"): DISCLOSED,
    ("GET", "/disclosure/funds/{fund_id}/page"): DISCLOSED,
    ("GET", "/disclosure/programmes/{programme_id}"): DISCLOSED,
    ("GET", "/disclosure/programmes/{programme_id}.csv"): DISCLOSED,
    ("GET", "/disclosure/programmes/{programme_id}/page"): DISCLOSED,
    ("GET", "/disclosure/funders/{funder_id}/360giving.json"): DISCLOSED,
    ("GET", "/regions"): "the national region code table, public geography",
    ("GET", "/regions/{code}"): "public geography",
    ("GET", "/regions/{code}/children"): "public geography",
    ("GET", "/boundary-changes"): "the national record of boundary changes, public geography",
    ("POST", "/views/rebuilds"): "a platform operation (the platform_operator role), no province's",
    ("GET", "/views/rebuilds/{rebuild_id}"): "a platform operation (the platform_operator role)",
    ("GET", "/imports/stations/template.xlsx"): "a blank template, nothing of anyone",
    ("GET", "/imports/social-workers/template.xlsx"): "a blank template, nothing of anyone",
    ("GET", "/imports/activities/template.xlsx"): "a blank template, nothing of anyone",
    ("GET", "/imports/household-visits/template.xlsx"): "a blank template, nothing of anyone",
    ("GET", "/imports/client-files/template.xlsx"): "a blank template, nothing of anyone",
    ("GET", "/imports/training-attendance/template.xlsx"): "a blank template, nothing of anyone",
}

# Path parameters that name a kind, not a record: the same value in both asks.
NAMES = {"view"}

# The service's own name for an id where two services use the same parameter name.
PARAM_ALIASES = {
    ("activities", "visit_id"): "household_visit_id",
    ("training", "visit_id"): "supervision_visit_id",
    ("registry", "region_code"): "county",  # a county's closed months
    ("registry", "month"): "closed_month",
    ("registry", "code"): "province",  # a province's coverage (the other region routes are public)
}

# Query parameters that filter by a record or a region: asked with Jiangxi's value and with a
# missing one. Others get a fixed value where required.
FILTERS = {
    "station_id": "station_id",
    "region": "region",
    "funder_id": "org_id",
    "backbone_for": "programme_id",
    "subject": "owner_subject",
}
FIXED = {
    "period_start": str(TODAY - timedelta(days=30)),
    "period_end": str(TODAY),
    "from": str(TODAY - timedelta(days=30)),  # a period (visits by household type)
    "to": str(TODAY),
    "purpose": "tenant sweep",  # why a client's identity is read (audited)
}

CHECKLIST = {
    "plans_checked": True,
    "briefings_checked": True,
    "photos_checked": True,
    "staff_talk": True,
    "site_visit": True,
}

# Writes with a valid body, so that nothing but the scope can refuse them: `{name}` is
# filled with Jiangxi's value of `name`, or a missing one. Imports send a CSV.
# A foundation's webhook receiver (decision 0042): on loopback, where nothing listens, so the
# deliveries a registration starts reach no address outside this machine.
WEBHOOK_URL = "http://127.0.0.1:9/wushe-sweep"
WEBHOOKS = {"webhook_allow_loopback": True}
AT = datetime.combine(YESTERDAY, time(9, 0), tzinfo=clock.CHINA).isoformat()
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/boundary-changes"): {
        "kind": "rename",
        "effective_date": str(TODAY),
        "old": [{"code": TOWNSHIPS[0], "name": "旧名"}],
        "new": [{"code": TOWNSHIPS[0], "name": "新名"}],
        "station_moves": {"{station_id}": TOWNSHIPS[0]},
    },
    ("POST", "/stations"): {"region_code": "360402003", "status": "operating"},
    ("PATCH", "/stations/{station_id}"): {"hotline": "0792-1234567"},
    ("POST", "/stations/{station_id}/status"): {"to": "suspended", "reason": "整改"},
    ("POST", "/stations/{station_id}/ratings"): {
        "stars": 1,
        "rated_on": str(TODAY),
        "reason": "评估",
    },
    ("POST", "/stations/{station_id}/rooms"): {"room_region_code": "360402001001"},
    ("POST", "/imports/stations"): "region_code,status\n360402003,operating\n",
    ("POST", "/organisations"): {"name": "外省机构", "kind": "foundation", "region_code": "36"},
    ("PATCH", "/organisations/{org_id}"): {"name": "改名"},
    ("POST", "/social-workers"): {
        "name": "外省人",
        "id_number": "11010519491231002X",
        "region_code": "360402",
    },
    ("PATCH", "/social-workers/{worker_id}"): {"phone": "13900000000"},
    ("POST", "/social-workers/{worker_id}/certification"): {
        "certification": "senior",
        "general_practice": True,
    },
    ("POST", "/social-workers/{worker_id}/assignments"): {
        "station_id": "{station_id}",
        "from_date": str(TODAY),
    },
    ("POST", "/imports/social-workers"): (
        "name,id_number,region_code,station_id\n外省人,11010519491231002X,360402,{station_id}\n"
    ),
    ("POST", "/programmes"): {
        "programme_id": "{programme_id}",
        "name": "冒名",
        "scope_regions": ["36"],
        "start_date": str(TODAY),
        "end_date": str(TODAY + timedelta(days=30)),
        "total_targets": {"service_sessions": 1},
    },
    ("PATCH", "/programmes/{programme_id}"): {"name": "改名"},
    ("POST", "/programmes/{programme_id}/enrolments"): {
        "station_ids": ["{station_id}"],
        "enrolled_on": str(TODAY),
    },
    ("POST", "/programmes/{programme_id}/enrolments/{station_id}/withdrawal"): {
        "withdrawn_on": str(TODAY),
        "reason": "退出",
    },
    ("POST", "/activities"): {
        "station_id": "{station_id}",
        "programme_ids": ["{programme_id}"],
        "service_area": "elder_services",
        "kind": "community_event",
        "activity_date": str(TODAY),
    },
    ("POST", "/activities/{activity_id}/held"): {
        "held_on": str(TODAY),
        "counts": {"sessions": 1, "person_times": {"elders": 9}},
    },
    ("POST", "/activities/{activity_id}/verification"): {},  # who verifies: the token
    ("POST", "/activities/{activity_id}/cancellation"): {"reason_code": "weather"},
    ("POST", "/activities/{activity_id}/corrections"): {
        "counts": {"sessions": 2},
        "reason_code": "count_error",
        "note": "改数",
    },
    ("POST", "/household-visits"): {
        "station_id": "{station_id}",
        "household_ref": "hh-1",
        "visited_on": str(TODAY),
    },
    ("POST", "/client-files"): {
        "station_id": "{station_id}",
        "name": "外省人",
        "id_number": "11010519491231002X",
        "consent_on": str(TODAY),
        "opened_on": str(TODAY),
    },
    ("POST", "/client-files/{file_id}/services"): {
        "served_on": str(TODAY),
        "service_area": "elder_services",
        "activity_id": "{activity_id}",
    },
    ("POST", "/client-files/{file_id}/closure"): {
        "closed_on": str(TODAY),
        "reason_code": "goals_met",
    },
    ("POST", "/imports/activities"): (
        "station_id,external_ref,service_area,kind,activity_date\n"
        f"{{station_id}},x-1,elder_services,community_event,{TODAY}\n"
    ),
    ("POST", "/imports/household-visits"): (
        f"station_id,external_ref,household_ref,visited_on\n{{station_id}},x-1,hh-1,{TODAY}\n"
    ),
    ("POST", "/imports/client-files"): (
        "station_id,external_ref,name,id_number,consent_on,opened_on\n"
        f"{{station_id}},x-1,外省人,11010519491231002X,{TODAY},{TODAY}\n"
    ),
    ("POST", "/volunteers"): {
        "name": "外省人",
        "id_number": "11010519491231002X",
        "station_id": "{station_id}",
    },
    ("POST", "/imports/volunteers"): (
        "name,id_number,station_id\n外省人,11010519491231002X,{station_id}\n"
    ),
    ("POST", "/volunteers/{volunteer_id}/backbone"): {
        "programme_id": "{programme_id}",
        "promoted_on": str(TODAY),
        "reason_code": "service_record",
    },
    ("POST", "/volunteers/{volunteer_id}/backbone/demote"): {
        "programme_id": "{programme_id}",
        "demoted_on": str(TODAY),
        "reason_code": "inactive",
    },
    ("POST", "/volunteers/{volunteer_id}/move"): {
        "station_id": "{station_id}",
        "moved_on": str(TODAY),
    },
    ("POST", "/volunteers/{volunteer_id}/deregister"): {
        "deregistered_on": str(TODAY),
        "reason_code": "moved_away",
    },
    ("POST", "/teams"): {"station_id": "{station_id}", "name": "冒名队", "formed_on": str(TODAY)},
    ("POST", "/teams/{team_id}/members"): {
        "volunteer_id": "{volunteer_id}",
        "joined_on": str(TODAY),
    },
    ("POST", "/teams/{team_id}/members/{volunteer_id}/leave"): {"left_on": str(TODAY)},
    ("POST", "/teams/{team_id}/leader"): {
        "volunteer_id": "{volunteer_id}",
        "appointed_on": str(TODAY),
    },
    ("POST", "/shifts"): {
        "station_id": "{station_id}",
        "shift_date": str(TODAY),
        "starts_at": "09:00",
        "ends_at": "10:00",
        "duty": "值班",
    },
    ("POST", "/volunteers/{volunteer_id}/attendances"): {
        "source": "shift",
        "source_id": "{shift_id}",
        "at": AT,
    },
    ("POST", "/volunteers/{volunteer_id}/attendances/{attendance_id}/check-out"): {"at": AT},
    ("POST", "/volunteers/{volunteer_id}/attendances/{attendance_id}/approve"): None,
    ("POST", "/volunteers/{volunteer_id}/attendances/{attendance_id}/reject"): {
        "reason_code": "not_served",
    },
    ("POST", "/volunteers/{volunteer_id}/attendances/{attendance_id}/corrections"): {
        "minutes": 30,
        "reason_code": "time_error",
        "note": "改时长",
    },
    ("POST", "/points-rules"): {
        "region_code": "36",
        "effective_from": str(TODAY + timedelta(days=1)),
        "points_per_hour": 99,
    },
    ("POST", "/volunteers/{volunteer_id}/redemptions"): {"points": 1, "item": "毛巾"},
    ("POST", "/volunteers/{volunteer_id}/certificates"): {
        "period_start": str(TODAY - timedelta(days=30)),
        "period_end": str(TODAY),
    },
    ("POST", "/donors"): {"kind": "foundation", "region_code": "36", "org_id": "{org_id}"},
    ("POST", "/pledges"): {
        "donor_id": "{donor_id}",
        "programme_id": "{programme_id}",
        "amount_fen": 100,
        "period_start": str(TODAY),
        "period_end": str(TODAY + timedelta(days=30)),
    },
    ("POST", "/pledges/{fund_id}/gifts"): {
        "kind": "cash",
        "amount_fen": 100,
        "receipt_no": "HB-1",
        "received_on": str(TODAY),
    },
    ("POST", "/gifts"): {
        "kind": "cash",
        "amount_fen": 100,
        "receipt_no": "HB-2",
        "received_on": str(TODAY),
        "donor_id": "{donor_id}",
        "programme_id": "{programme_id}",
    },
    ("POST", "/funds/{fund_id}/allocations"): {
        "station_id": "{station_id}",
        "amount_fen": 100,
        "allocated_on": str(TODAY),
    },
    ("POST", "/funds/{fund_id}/allocation-plans"): {
        "allocated_on": str(TODAY),
        "allocations": [{"station_id": "{station_id}", "amount_fen": 100}],
    },
    ("POST", "/funds/{fund_id}/disbursements"): {
        "allocation_id": "{allocation_id}",
        "amount_fen": 100,
        "paid_on": str(TODAY),
        "purpose": "goods",
    },
    ("POST", "/funds/{fund_id}/reversals"): {
        "entry_kind": "gift",
        "entry_id": "{gift_id}",
        "amount_fen": 100,
        "reversed_on": str(TODAY),
        "reason_code": "refund",
        "note": "退回",
    },
    ("POST", "/funds/{fund_id}/statements"): {},  # issues those due: another's fund is a 404
    ("POST", "/webhooks"): {"url": WEBHOOK_URL},
    ("POST", "/webhooks/{subscription_id}/replay"): {"from_position": 0},
    ("DELETE", "/webhooks/{subscription_id}"): None,
    ("POST", "/courses"): {"course_id": "{course_id}", "region_code": "36", "title": "冒名"},
    ("POST", "/sessions"): {
        "region_code": "3604",
        "course_id": "{course_id}",
        "kind": "routine_study",
        "mode": "online",
        "session_date": str(TODAY),
        "hours": 1,
    },
    ("POST", "/sessions/{session_id}/attendance"): {
        "attendances": [
            {"attendee_kind": "social_worker", "attendee_id": "{worker_id}", "hours": 1}
        ]
    },
    ("POST", "/imports/training-attendance"): (
        "session_id,attendee_kind,attendee_id,hours\n{session_id},social_worker,{worker_id},1\n"
    ),
    ("POST", "/supervision-visits"): {
        "station_id": "{station_id}",
        "month": TODAY.strftime("%Y-%m"),
        "supervisor_id": "sup-hb",
    },
    ("POST", "/supervision-visits/{visit_id}/completion"): {
        "visited_on": str(TODAY),
        "checklist": CHECKLIST,
    },
    ("POST", "/supervision-visits/{visit_id}/items/{item_id}/closure"): {
        "closed_on": str(TODAY),
        "note": "关闭",
    },
    ("POST", "/closed-months"): {"region_code": "{county}", "month": CLOSED_MONTH},
    ("POST", "/closed-months/{region_code}/{month}/reopening"): {"reason": "补录"},
    ("POST", "/activities/{activity_id}/corrections/{correction_id}/approval"): None,
    ("POST", "/evaluations"): {
        "station_id": "{station_id}",
        "evaluator_org_id": "{org_id}",
        "evaluated_on": str(TODAY),
        "scores": {
            "administration": 10,
            "service_results": 10,
            "project_management": 10,
            "finance": 10,
            "social_impact": 10,
        },
    },
}

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def vary(value: str) -> str:
    """An id of the same shape that names nothing: the last three letters or digits moved
    on by one, so a pattern that accepts the real id accepts this one."""
    chars = list(value)
    moved = 0
    for i in range(len(chars) - 1, -1, -1):
        c = chars[i]
        if c.isdigit():
            chars[i] = str((int(c) + 1) % 10)
        elif "a" <= c <= "z":
            chars[i] = chr((ord(c) - 97 + 1) % 26 + 97)
        elif "A" <= c <= "Z":
            chars[i] = chr((ord(c) - 65 + 1) % 26 + 65)
        else:
            continue
        moved += 1
        if moved == 3:
            break
    return "".join(chars)


def fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    if isinstance(template, dict):
        return {fill(k, values): fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


@dataclass
class Ask:
    """One request, asked twice by the other province: naming Jiangxi's records, and naming
    records that do not exist (the same shapes)."""

    service: str
    method: str
    path: str
    names: set[str]  # the values it names, by key into the id table
    params: dict[str, str]
    body: Any

    def request(self, values: dict[str, str]) -> dict[str, Any]:
        path = fill(self.path, values)
        out: dict[str, Any] = {"params": fill(self.params, values)}
        if isinstance(self.body, str):
            out["content"] = fill(self.body, values).encode()
            out["headers"] = {"Content-Type": "text/csv"}
        elif self.body is not None:
            out["json"] = fill(self.body, values)
        if self.method != "GET":
            out.setdefault("headers", {})["Idempotency-Key"] = uuid.uuid4().hex
        return {"method": self.method, "url": path, **out}


def asks(service: str, spec: dict[str, Any]) -> Iterator[Ask]:
    """Every scoped route of a service as the asks that probe it."""
    for template, operations in spec["paths"].items():
        for method, op in operations.items():
            method = method.upper()
            if (method, template) in NOT_SCOPED:
                continue
            path_names = re.findall(r"\{(\w+)\}", template)
            keyed = {n: PARAM_ALIASES.get((service, n), n) for n in path_names}
            path = fill(template, {n: "{" + alias + "}" for n, alias in keyed.items()})
            query = [p for p in op.get("parameters", []) if p["in"] == "query"]
            fixed = {p["name"]: FIXED[p["name"]] for p in query if p.get("required")}
            if method != "GET":
                assert (method, template) in BODIES, (
                    f"the sweep needs a body for {method} {template}"
                )
                body = BODIES[(method, template)]
                named = set(PLACEHOLDER.findall(repr(body))) | set(keyed.values())
                yield Ask(service, method, path, named, fixed, body)
                continue
            kinds = [n for n in path_names if n in NAMES]
            for variant in _name_variants(spec, template, method, kinds):
                concrete = fill(path, {**{k: "{" + k + "}" for k in keyed.values()}, **variant})
                ids = {keyed[n] for n in path_names if n not in NAMES}
                yield Ask(service, method, concrete, ids, fixed, None)
                if ids:
                    continue
                # A list: filtered by each Jiangxi value it can be filtered by, one at a time.
                for p in query:
                    if p["name"] in FILTERS:
                        key = FILTERS[p["name"]]
                        params = {**fixed, p["name"]: "{" + key + "}"}
                        yield Ask(service, method, concrete, {key}, params, None)


def _name_variants(
    spec: dict[str, Any], template: str, method: str, kinds: list[str]
) -> list[dict[str, str]]:
    """Each value of a path parameter that names a kind (every view of the views API)."""
    if not kinds:
        return [{}]
    (kind,) = kinds
    op = spec["paths"][template][method.lower()]
    schema = next(p["schema"] for p in op["parameters"] if p["name"] == kind)
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return [{kind: v} for v in schema["enum"]]


async def test_another_province_is_answered_as_if_nothing_existed(
    stack: LocalStack, unique: str, platform: Any
) -> None:
    keys = DevKeys.generate()
    owner_subject = f"jx-owner-{unique}"
    owner = keys.issue(subject=owner_subject, region_scope=OWNER, roles=["admin"])
    foreign = keys.issue(subject=f"hb-{unique}", region_scope=FOREIGN, roles=["admin"])
    async with platform(unique, keys, **WEBHOOKS) as urls:
        real = await records(urls, owner, unique, JIANGXI)
        real["owner_subject"] = owner_subject
        real["region"] = OWNER
        # A webhook is the foundation's own: its token makes it and reads it back.
        foundation = funder_token(keys, real["donor_id"], unique)
        real["subscription_id"] = await webhook(urls, foundation)
        missing = {k: vary(v) for k, v in real.items()}
        missing["region"] = missing["province"] = "45"  # a province neither token covers
        # Hubei has records of its own: its lists are not empty, and its writes below can
        # name its own records beside one of Jiangxi's.
        own = await records(
            urls, foreign, unique, hubei(await scenario.townships_of(urls.registry, foreign, "42"))
        )
        # Jiangxi's ids, places and people: none may reach Hubei's answers, unless Hubei
        # sent the value itself.
        # (a county and a month are public; a correction's id is the same in every activity)
        public = ("region", "province", "county", "closed_month", "correction_id")
        secrets = {k: v for k, v in real.items() if k not in public}
        secrets.update(
            {f"township-{t}": t for t in TOWNSHIPS}
            | {
                f"person-{p['name']}": p["name"]
                for p in (JIANGXI.worker, JIANGXI.volunteer, JIANGXI.client)
            }
        )
        specs = {}
        for name in SERVICES:
            async with httpx.AsyncClient(base_url=getattr(urls, name), timeout=30) as c:
                specs[name] = (await c.get("/openapi.json")).json()
        every = [a for name in SERVICES for a in asks(name, specs[name])]
        reads = [a for a in every if a.method == "GET"]
        writes = [a for a in every if a.method != "GET"]
        assert len(writes) == len(BODIES)  # every body here belongs to a route
        before = await settled(stack, unique)
        kept = await owner_reads(urls, owner, reads, real, foundation)

        # 1. Jiangxi's records by Hubei, and missing ones in their place. Reads first: the
        # audit is a list too, and Hubei's refused writes would put Jiangxi's ids (sent by
        # Hubei) into Hubei's own audit.
        wrong: list[str] = []
        for ask in [*reads, *writes]:
            compared = Compared(real, missing, ask.names, by_id_is_404=True)
            wrong += (await probe(urls, foreign, ask, compared, secrets))[0]
        assert not wrong, "\n".join(wrong)
        assert await settled(stack, unique) == before  # nothing written by any of it

        # 2. Hubei's own records, with one of Jiangxi's named in the body (a Jiangxi station
        # for Hubei's money, a Jiangxi volunteer in Hubei's team...), and a missing one in its
        # place. These may write to Hubei's records when both are accepted (an attendee id
        # is not checked against the registry); never to Jiangxi's.
        accepted: list[str] = []
        mixed = 0
        for ask in writes:
            for key in sorted(set(PLACEHOLDER.findall(repr(ask.body)))):
                compared = Compared(
                    {**own, key: real[key]}, {**own, key: missing[key]}, {key}, by_id_is_404=False
                )
                found, both = await probe(urls, foreign, ask, compared, secrets)
                wrong += found
                accepted += [f"{ask.method} {ask.path} naming {key}"] if both else []
                mixed += 1
        assert not wrong, "\n".join(wrong)
        assert await owner_reads(urls, owner, reads, real, foundation) == kept
    by_id = sum(1 for a in every if re.search(r"\{\w+\}", a.path))
    print(
        f"\n[tenancy] {len(reads)} reads and {len(writes)} writes over 6 services,"
        f" {by_id} of them by id; {mixed} writes naming one Jiangxi record beside Hubei's own;"
        f" each asked twice. Accepted with a Jiangxi id as with a missing one: {accepted}"
    )
    assert by_id >= 50  # the sweep really walked the routes
    assert mixed >= 30


@dataclass(frozen=True)
class Compared:
    """The two asks of a probe: with `seen` values (naming Jiangxi's records) and with
    `absent` ones in their place; `names` are the keys in which the two differ."""

    seen: dict[str, str]
    absent: dict[str, str]
    names: set[str]
    by_id_is_404: bool  # the path names Jiangxi's record (not Hubei's own)


async def probe(
    urls: scenario.Endpoints, token: str, ask: Ask, compared: Compared, secrets: dict[str, str]
) -> tuple[list[str], bool]:
    """What is wrong with the other province's answers to one ask (nothing, if all holds),
    and whether both were accepted."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=getattr(urls, ask.service), timeout=30) as c:
        hidden = await c.request(**_with_headers(ask.request(compared.seen), headers))
        absent = await c.request(**_with_headers(ask.request(compared.absent), headers))
    where = f"{ask.service} {ask.method} {ask.path} {ask.params}: {hidden.status_code}"
    wrong = []
    by_id = bool(re.search(r"\{\w+\}", ask.path))
    imports = ask.path.startswith("/imports/")  # an import reports refused rows in a 200
    both = hidden.is_success and absent.is_success
    for answer in (hidden, absent):
        media = answer.headers.get("content-type", "")
        if answer.status_code >= 400 and media != "application/problem+json":
            wrong.append(f"{where}: an error answer of type {media!r}, not a problem")
    if hidden.status_code >= 500:
        wrong.append(f"{where} answered {hidden.text}")
    elif compared.by_id_is_404 and by_id and hidden.status_code != 404:
        wrong.append(f"{where} is not 404: {hidden.text}")
    elif compared.by_id_is_404 and ask.method != "GET" and hidden.is_success and not imports:
        wrong.append(f"{where} was not refused: {hidden.text}")
    # Nothing tells Jiangxi's records from missing ones but the values Hubei sent.
    seen = absent.text
    for key in compared.names:
        seen = seen.replace(compared.absent[key], compared.seen[key])
    differs = (hidden.status_code, hidden.text) != (absent.status_code, seen)
    if compared.names and differs and not both:
        wrong.append(f"{where} {hidden.text} differs from a missing one's {absent.text}")
    # (a station's id holds its township's code, and a visit's id the station's)
    sent = [compared.seen[key] for key in compared.names]
    leaked = [k for k, v in secrets.items() if v in hidden.text and not any(v in s for s in sent)]
    if leaked:
        wrong.append(f"{where} shows {leaked}: {hidden.text}")
    return wrong, both and not imports


def _with_headers(request: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    return {**request, "headers": {**request.get("headers", {}), **headers}}


async def owner_reads(
    urls: scenario.Endpoints, token: str, reads: list[Ask], real: dict[str, str], funder: str
) -> dict[str, str]:
    """Jiangxi's own view of each of its records, in the services that own them (its
    foundation's, for the foundation's own webhooks)."""
    out = {}
    for ask in reads:
        if ask.service == "projector" or not re.search(r"\{\w+\}", ask.path):
            continue  # views follow the streams on their own time; lists hold the audit
        own = funder if ask.path.startswith("/webhooks") else token
        headers = {"Authorization": f"Bearer {own}"}
        async with httpx.AsyncClient(base_url=getattr(urls, ask.service), timeout=30) as c:
            r = await c.request(**_with_headers(ask.request(real), headers))
        assert r.status_code == 200, (ask.service, ask.path, r.text)
        out[f"{ask.service} {ask.path}"] = r.text
    return out


def funder_token(keys: DevKeys, funder_id: str, unique: str) -> str:
    return keys.issue(subject=f"fdn-{unique}", roles=["funder"], funder_id=funder_id)


async def webhook(urls: scenario.Endpoints, token: str) -> str:
    """A webhook of the foundation whose token this is: its subscription id. It begins far
    past the feed's end, so nothing is delivered and its state stays as its owner read it."""
    async with httpx.AsyncClient(base_url=urls.donations, timeout=30) as c:
        r = await c.post(
            "/webhooks",
            headers={"Authorization": f"Bearer {token}"},
            json={"url": WEBHOOK_URL, "from_position": 1_000_000},
        )
    assert r.status_code == 201, r.text
    return str(r.json()["subscription_id"])


async def settled(stack: LocalStack, unique: str) -> dict[str, int]:
    """Every service's commits, counted once they stop changing (the registry follows the
    evaluation with a rating of its own, a moment later)."""
    client = create_mongo_client(stack.cfg.mongo_url)
    try:

        async def count() -> dict[str, int]:
            out = {}
            for db in ("registry", "activities", "volunteers", "donations", "training"):
                database = client[f"{db}_{unique}"]  # as the platform fixture names them
                for name in await database.list_collection_names():
                    if name.endswith("_commits"):
                        out[f"{db}.{name}"] = await database[name].count_documents({})
            return out

        last = await count()

        async def still() -> bool:
            nonlocal last
            now = await count()
            same, last = now == last, now
            return same

        await wait_for(still, timeout_s=60, interval_s=2, what="the commits to settle")
        return last
    finally:
        await client.close()


async def records(urls: scenario.Endpoints, token: str, unique: str, p: Province) -> dict[str, str]:
    """One record of every kind in a province, through the APIs; the ids they were given."""
    headers = {"Authorization": f"Bearer {token}"}
    ids: dict[str, str] = {}

    async def call(service: str, path: str, body: Any = None, method: str = "POST") -> Any:
        h = {**headers, "Idempotency-Key": uuid.uuid4().hex}  # one per call, kept by retries

        async def once() -> httpx.Response:
            async with httpx.AsyncClient(base_url=getattr(urls, service), timeout=60) as c:
                return await c.request(method, path, headers=h, json=body)

        # Other services learn stations and programmes from the registry's events.
        r = await scenario._retry_while_unknown(once, 60)
        assert r.status_code in (200, 201), (service, path, r.text)
        return r.json()

    for i, code in enumerate(p.townships):
        station = await call("registry", "/stations", {"region_code": code, "status": "operating"})
        ids["station_id" if i == 0 else "second_station_id"] = station["station_id"]
    org = await call(
        "registry",
        "/organisations",
        {**p.organisation, "region_code": p.code},
    )
    ids["org_id"] = org["org_id"]
    worker = await call(
        "registry",
        "/social-workers",
        {**p.worker, "region_code": p.townships[0][:6], "certification": "social_worker"},
    )
    ids["worker_id"] = worker["worker_id"]
    await call(
        "registry",
        f"/social-workers/{ids['worker_id']}/assignments",
        {"station_id": ids["station_id"], "from_date": str(TODAY - timedelta(days=60))},
    )
    ids["programme_id"] = f"bv-{p.code}-{unique}"
    await call(
        "registry",
        "/programmes",
        {
            "programme_id": ids["programme_id"],
            "name": "蓝马甲行动",
            "scope_regions": [p.code],
            "start_date": str(TODAY - timedelta(days=60)),
            "end_date": str(TODAY + timedelta(days=60)),
            "total_targets": {"backbone_volunteers": 2, "service_sessions": 4},
        },
    )
    await call(
        "registry",
        f"/programmes/{ids['programme_id']}/enrolments",
        {
            "station_ids": [ids["station_id"], ids["second_station_id"]],
            "enrolled_on": str(TODAY - timedelta(days=60)),
        },
    )

    activity = await call(
        "activities",
        "/activities",
        BODIES[("POST", "/activities")]
        | {
            "station_id": ids["station_id"],
            "programme_ids": [ids["programme_id"]],
        },
    )
    ids["activity_id"] = activity["activity_id"]
    await call(
        "activities",
        f"/activities/{ids['activity_id']}/held",
        {"held_on": str(TODAY), "counts": {"sessions": 1, "person_times": {"elders": 30}}},
    )
    visit = await call(
        "activities",
        "/household-visits",
        {"station_id": ids["station_id"], "household_ref": "hh-jx-1", "visited_on": str(TODAY)},
    )
    ids["household_visit_id"] = visit["visit_id"]
    client_file = await call(
        "activities",
        "/client-files",
        {
            "station_id": ids["station_id"],
            **p.client,
            "categories": ["empty_nest_elder"],
            "consent_on": str(TODAY),
            "opened_on": str(TODAY),
            # The caller is the client's social worker: it reads the full identity itself.
            "case_worker": jwt.decode(token, options={"verify_signature": False})["sub"],
        },
    )
    ids["file_id"] = client_file["file_id"]

    volunteer = await call(
        "volunteers",
        "/volunteers",
        {**p.volunteer, "station_id": ids["station_id"], "registered_on": str(YESTERDAY)},
    )
    ids["volunteer_id"] = vid = volunteer["volunteer_id"]
    await call(
        "volunteers",
        f"/volunteers/{vid}/backbone",
        {
            "programme_id": ids["programme_id"],
            "promoted_on": str(TODAY),
            "reason_code": "service_record",
        },
    )
    team = await call(
        "volunteers",
        "/teams",
        {"station_id": ids["station_id"], "name": "蓝马甲一队", "formed_on": str(YESTERDAY)},
    )
    ids["team_id"] = team["team_id"]
    await call(
        "volunteers",
        f"/teams/{ids['team_id']}/members",
        {"volunteer_id": vid, "joined_on": str(TODAY)},
    )
    shift = await call(
        "volunteers",
        "/shifts",
        {
            "station_id": ids["station_id"],
            "shift_date": str(YESTERDAY),
            "starts_at": "09:00",
            "ends_at": "12:00",
            "duty": "助餐点值班",
        },
    )
    ids["shift_id"] = shift["shift_id"]
    ledger = await call(
        "volunteers",
        f"/volunteers/{vid}/attendances",
        {"source": "shift", "source_id": ids["shift_id"], "at": AT},
    )
    ids["attendance_id"] = ledger["attendances"][0]["attendance_id"]
    await call(
        "volunteers",
        "/points-rules",
        # From tomorrow: still valid if China's day turns during the run (TODAY is fixed at import).
        {
            "region_code": p.code,
            "effective_from": str(TODAY + timedelta(days=1)),
            "points_per_hour": 10,
        },
    )
    ids["province"] = p.code

    donor = await call(
        "donations",
        "/donors",
        {"kind": "foundation", "region_code": p.code, "org_id": ids["org_id"]},
    )
    ids["donor_id"] = donor["donor_id"]
    pledge = await call(
        "donations",
        "/pledges",
        {
            "donor_id": ids["donor_id"],
            "programme_id": ids["programme_id"],
            "amount_fen": 1_000_000,
            "period_start": str(TODAY - timedelta(days=30)),
            "period_end": str(TODAY + timedelta(days=60)),
        },
    )
    ids["fund_id"] = fund = pledge["fund_id"]
    await call(
        "donations",
        f"/pledges/{fund}/gifts",
        {"kind": "cash", "amount_fen": 600_000, "receipt_no": "JX-1", "received_on": str(TODAY)},
    )
    funded = await call(
        "donations",
        f"/funds/{fund}/allocations",
        {"station_id": ids["station_id"], "amount_fen": 200_000, "allocated_on": str(TODAY)},
    )
    ids["gift_id"] = funded["gifts"][0]["gift_id"]
    ids["allocation_id"] = funded["allocations"][0]["allocation_id"]

    ids["course_id"] = f"c-{p.code}-{unique}"
    await call(
        "training",
        "/courses",
        {"course_id": ids["course_id"], "region_code": p.code, "title": "五社联动系列课程"},
    )
    session = await call(
        "training",
        "/sessions",
        {
            "region_code": p.townships[0][:4],
            "course_id": ids["course_id"],
            "kind": "routine_study",
            "mode": "on_site",
            "session_date": str(TODAY),
            "hours": 2,
        },
    )
    ids["session_id"] = session["facts"]["session_id"]
    planned = await call(
        "training",
        "/supervision-visits",
        {"station_id": ids["station_id"], "month": TODAY.strftime("%Y-%m"), "supervisor_id": "s1"},
    )
    ids["supervision_visit_id"] = planned["visit_id"]
    await call(
        "training",
        f"/supervision-visits/{planned['visit_id']}/completion",
        {
            "visited_on": str(TODAY),
            "checklist": CHECKLIST,
            "items": [
                {
                    "category": "materials",
                    "description": "补齐照片",
                    "deadline": str(TODAY + timedelta(days=7)),
                }
            ],
        },
    )
    ids["item_id"] = f"{planned['visit_id']}-1"
    evaluation = await call(
        "training",
        "/evaluations",
        BODIES[("POST", "/evaluations")]
        | {
            "station_id": ids["station_id"],
            "evaluator_org_id": ids["org_id"],
        },
    )
    ids["evaluation_id"] = evaluation["evaluation_id"]
    ids["funder_id"] = ids["org_id"]
    # The county closes a month; a correction's id (none waits: its approval answers 404).
    ids["county"] = p.townships[0][:6]
    await call("registry", "/closed-months", {"region_code": ids["county"], "month": CLOSED_MONTH})
    ids["closed_month"] = CLOSED_MONTH
    ids["correction_id"] = "cor-1"

    # The views have Jiangxi's programme before Hubei asks for it.
    async def projected() -> bool:
        async with httpx.AsyncClient(base_url=urls.projector, headers=headers) as c:
            r = await c.get(f"/views/programmes/{ids['programme_id']}/progress")
            return r.status_code == 200

    await wait_for(projected, timeout_s=60, what="the programme in the views")
    return ids


# --------------------------------------------------------------------------- roles

ROLE_PROBLEM = "urn:wushe:problem:role-not-permitted"
# Path parameters that are no record's id: a value of the right shape.
PATH_VALUES = {"code": "36", "province": "36", "view": None, "month": "2026-01"}
# GETs that a permitted role inside its scope may still be refused for a reason of their
# own (never the role): each says why.
NOT_ALWAYS_200 = {
    "GET /client-files/{file_id}/identity": "only the client's own social worker, with a purpose",
    "GET /views/rebuilds/{rebuild_id}": "no rebuild of that id was started",
}


def names_a_record(route: str) -> bool:
    return any(n not in PATH_VALUES for n in re.findall(r"\{(\w+)\}", route))


def role_tokens(keys: DevKeys, unique: str, real: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Each role's token inside Jiangxi's records' scope, and one outside it (Hubei, or for
    a foundation another funder)."""
    county = TOWNSHIPS[0][:6]
    inside = {
        "station_worker": {"region_scope": county, "stations": [real["station_id"]]},
        "social_worker": {"region_scope": county, "stations": [real["station_id"]]},
        "county_officer": {"region_scope": county},
        "city_officer": {"region_scope": county[:4]},
        "province_officer": {"region_scope": OWNER},
        "auditor": {"region_scope": OWNER},
        "platform_operator": {"region_scope": OWNER},
        "funder": {"funder_id": real["funder_id"]},
    }
    outside = {
        role: {"funder_id": vary(real["funder_id"])}
        if role == "funder"
        else {"region_scope": FOREIGN, **({"stations": ["hb-station"]} if "stations" in c else {})}
        for role, c in inside.items()
    }
    return {
        role: tuple(  # type: ignore[misc]
            keys.issue(subject=f"{role}-{side}-{unique}", roles=[role], **claims[role])
            for side, claims in (("in", inside), ("out", outside))
        )
        for role in inside
    }


def route_requests(
    service: str, spec: dict[str, Any], values: dict[str, str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """One request per route of a service, naming Jiangxi's records: (route, request)."""
    for template, operations in spec["paths"].items():
        for method, op in operations.items():
            method = method.upper()
            filled = dict(values)
            for name in re.findall(r"\{(\w+)\}", template):
                if name == "view":
                    schema = next(p["schema"] for p in op["parameters"] if p["name"] == name)
                    if "$ref" in schema:
                        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
                    filled[name] = schema["enum"][0]
                elif name in PATH_VALUES:
                    filled[name] = str(PATH_VALUES[name])
                else:
                    filled[name] = values.get(PARAM_ALIASES.get((service, name), name), "x")
            query = [p for p in op.get("parameters", []) if p["in"] == "query"]
            params = {p["name"]: FIXED.get(p["name"], "x") for p in query if p.get("required")}
            if method != "GET" and (method, template) not in BODIES:
                continue  # a write without a body here: the other sweep says so
            ask = Ask(service, method, template, set(), params, BODIES.get((method, template)))
            yield f"{method} {template}", ask.request(filled)


async def test_every_role_on_every_route_answers_as_the_permission_table_says(
    stack: LocalStack, unique: str, platform: Any
) -> None:
    """Every route of every service, asked with a token of every role, inside its scope and
    outside it: a role the table does not allow gets 403 `role-not-permitted` wherever it
    asks; a role it allows is never refused for its role, reads what it asks inside its scope
    (a province-wide role: every read answers 200) and nothing outside it (by id: 404)."""
    keys = DevKeys.generate()
    admin = keys.issue(subject=f"jx-admin-{unique}", region_scope=OWNER, roles=["admin"])
    limits = {"rate_limit_per_s": 10_000, "rate_limit_burst": 10_000}
    async with platform(unique, keys, **limits, **WEBHOOKS) as urls:
        real = await records(urls, admin, unique, JIANGXI)
        real["owner_subject"] = f"jx-admin-{unique}"
        real["funder_id"] = real["donor_id"]  # a foundation's funder id is its donor id
        real["subscription_id"] = await webhook(urls, funder_token(keys, real["donor_id"], unique))
        specs = {}
        for name in SERVICES:
            async with httpx.AsyncClient(base_url=getattr(urls, name), timeout=30) as c:
                specs[name] = (await c.get("/openapi.json")).json()
        tokens = role_tokens(keys, unique, real)

        async def funded() -> bool:  # the lineage follows the money on the views' own time
            async with httpx.AsyncClient(base_url=urls.projector) as c:
                r = await c.get(
                    f"/views/lineage/{real['funder_id']}",
                    headers={"Authorization": f"Bearer {admin}"},
                )
                return r.status_code == 200

        await wait_for(funded, timeout_s=60, what="the funder's lineage in the views")
        every = [
            (name, route, request)
            for name in SERVICES
            for route, request in route_requests(name, specs[name], real)
        ]
        # Reads first: the permitted writes below change Jiangxi's records.
        every.sort(key=lambda e: e[2]["method"] != "GET")
        wrong: list[str] = []
        answered: dict[str, int] = {}
        for name, route, request in every:
            rule = permissions.rows_of(name).get(route)
            assert rule is not None, f"{name} {route}: no row in wushe.permissions"
            if rule.public:
                continue
            for role, (inside, outside) in tokens.items():
                allowed = role in rule.roles
                for side, token in (("inside", inside), ("outside", outside)):
                    headers = {"Authorization": f"Bearer {token}"}
                    async with httpx.AsyncClient(base_url=getattr(urls, name), timeout=30) as c:
                        r = await c.request(**_with_headers(request, headers))
                    problem = r.headers.get("content-type") == "application/problem+json"
                    kind = r.json().get("type") if problem else None
                    where = f"{name} {route} as {role} {side}: {r.status_code} {r.text[:200]}"
                    answered[f"{role} {side} {r.status_code}"] = (
                        answered.get(f"{role} {side} {r.status_code}", 0) + 1
                    )
                    failed = r.status_code in (401, 429) or r.status_code >= 500
                    if failed or (r.status_code >= 400 and not problem):
                        wrong.append(where)
                    elif not allowed:
                        if r.status_code != 403 or kind != ROLE_PROBLEM:
                            wrong.append(f"{where} (the table refuses {role})")
                    elif kind == ROLE_PROBLEM:
                        wrong.append(f"{where} (the table allows {role})")
                    elif side == "outside" and request["method"] != "GET" and r.is_success:
                        if not route.startswith("POST /imports/"):  # refused rows in a 200
                            wrong.append(f"{where} (a write outside the scope went through)")
                    elif (
                        side == "outside"
                        and names_a_record(route)
                        and (request["method"] == "GET" and r.status_code != 404)
                    ):
                        wrong.append(f"{where} (a record outside the scope is not 404)")
                    elif (
                        side == "inside"
                        and request["method"] == "GET"
                        and role in ("province_officer", "auditor")
                        and route not in NOT_ALWAYS_200
                        and r.status_code != 200
                    ):
                        wrong.append(f"{where} (a read inside the scope)")
        assert not wrong, "\n".join(wrong)
    refused = sum(v for k, v in answered.items() if k.endswith(" 403"))
    print(f"\n[roles] {len(every)} routes x {len(tokens)} roles x 2 scopes: {answered}")
    assert len(every) >= 110  # the sweep really walked every route
    assert refused > 500
