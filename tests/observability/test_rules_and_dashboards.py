"""The alert rules and Grafana dashboards, checked against the real tools:

- `promtool check rules` and `promtool test rules` on deploy/prometheus (the rendered
  Prometheus configuration is checked by `promtool check config` whenever a stack starts);
- the dashboards' shape: a datasource variable, no hard-coded ids or datasource uids;
- then, on the running platform with real traffic, **every PromQL expression of every
  dashboard panel and every alert rule** evaluated by the real Prometheus (variables
  substituted): each query succeeds, and each panel returns data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from wushe import bus
from wushe.auth import DevKeys
from wushe.contracts import Envelope, Event
from wushe.service import ServiceContext, create_service_app
from wushe.settings import ServiceSettings
from wushe.web import today
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import drop_databases, service_app
from wushe_dev.testing import create_topics, publish_all, serve_http, wait_for

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "tests"
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))


def rule_exprs() -> list[tuple[str, str]]:
    out = []
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                out.append((rule.get("alert") or rule["record"], rule["expr"]))
    return out


def panel_exprs() -> list[tuple[str, str]]:
    out = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                out.append((f"{path.stem}: {panel['title']} [{target['refId']}]", target["expr"]))
    return out


@pytest.mark.service  # needs the installed promtool
def test_promtool_checks_and_unit_tests_the_rules(stack: LocalStack) -> None:
    tool = str(stack.installer.prometheus_bin("promtool"))
    checked = subprocess.run(
        [tool, "check", "rules", *map(str, sorted(RULES.glob("*.yml")))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [tool, "test", "rules", *map(str, sorted(RULE_TESTS.glob("*.test.yml")))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
    # Every alert has a unit test.
    tested_alerts = set(
        re.findall(r"alertname: (\w+)", "".join(p.read_text() for p in RULE_TESTS.glob("*.yml")))
    )
    assert {name for name, _ in rule_exprs()} <= tested_alerts


def test_dashboards_use_a_datasource_variable_and_no_hard_coded_ids() -> None:
    assert {p.stem for p in DASHBOARDS} >= {
        "ops-overview",
        "kafka-consumers",
        "relay-dead-letters",
        "projection-freshness",
        "programme-progress",
    }
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        assert board["id"] is None, path
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        for panel in board["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, path
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}"
        used = set(re.findall(r"\$(\w+)", json.dumps([p["targets"] for p in board["panels"]])))
        assert used - {"__rate_interval"} <= set(variables), (path, used)


# --------------------------------------------------------------------------- on the platform


def substitute(expr: str, programme: str) -> str:
    return (
        expr.replace("$__rate_interval", "1m")
        .replace('"$programme"', f'"{programme}"')
        .replace('"$service"', '".*"')
        .replace('"$group"', '".*"')
    )


class Poison(Event, type="observability.Poisoned.v1", topic="observability.poison"):
    n: int


def poison_service(settings: ServiceSettings, topic: str, keys: DevKeys) -> Any:
    """A small service whose consumer refuses everything: its messages go to the DLQ."""

    def register(ctx: ServiceContext) -> None:
        async def refuse(event: Event, envelope: Envelope, at: bus.Delivery) -> None:
            raise ValueError("refused on purpose")

        bus.subscribe(
            ctx.broker,
            topic,
            group_id=f"{topic}.group",
            handler=refuse,
            retries=bus.Retries(max_attempts=1, retry_backoff_s=0.0),
        )

    return create_service_app(
        settings, title="poison", register_handlers=register, token_verifier=keys.verifier()
    )


@pytest.fixture
async def platform(stack: LocalStack, unique: str) -> AsyncIterator[dict[str, Any]]:
    keys = DevKeys.generate()
    common: dict[str, Any] = {"consumer_lag_interval_s": 1.0}
    # Metrics read every second, so the scrapes below see them move.
    apps = {
        name: service_app(stack, name, unique, keys, **common)
        for name in ("registry", "activities", "donations")
    }
    apps["projector"] = service_app(
        stack, "projector", unique, keys, business_metrics_interval_s=1.0, **common
    )
    poison_topic = f"observability.poison.{unique}"
    await create_topics(stack.cfg.kafka_bootstrap, poison_topic, f"{poison_topic}.dlq")
    apps["poison"] = poison_service(
        ServiceSettings(
            service_name="poison",
            mongo_db=f"poison_{unique}",
            kafka_bootstrap=stack.cfg.kafka_bootstrap,
            mongo_url=stack.cfg.mongo_url,
            relay_sweep_interval_s=0.5,
            **common,
        ),
        poison_topic,
        keys,
    )
    targets = []
    async with serve_all(apps) as urls:
        for name, url in urls.items():
            targets.append(
                stack.register_scrape_target(
                    f"{name}-{unique}", url.removeprefix("http://"), {"service": name}
                )
            )
        token = keys.issue(subject="ops", region_scope="36", roles=["admin"])
        yield {
            "urls": urls,
            "auth": {"Authorization": f"Bearer {token}"},
            "apps": apps,
            "poison_topic": poison_topic,
        }
        for target in targets:
            target.unlink()
    await drop_databases(stack, *(app.state.ctx.settings.mongo_db for app in apps.values()))


@contextlib.asynccontextmanager
async def serve_all(apps: dict[str, Any]) -> AsyncIterator[dict[str, str]]:
    async with contextlib.AsyncExitStack() as stack:
        yield {name: await stack.enter_async_context(serve_http(app)) for name, app in apps.items()}


async def drive_traffic(platform: dict[str, Any], stack: LocalStack, unique: str) -> str:
    """A station in a programme with targets, an activity, a pledge with a gift, an
    allocation and a disbursement, a bad request, and a message for the dead-letter topic."""
    urls, h = platform["urls"], platform["auth"]
    start = str(today() - timedelta(days=100))
    day = str(today() - timedelta(days=1))
    async with (
        httpx.AsyncClient(base_url=urls["registry"], headers=h) as reg,
        httpx.AsyncClient(base_url=urls["activities"], headers=h) as act,
        httpx.AsyncClient(base_url=urls["donations"], headers=h) as don,
    ):
        sids = []
        for code in ("360703100", "360703101"):
            r = await reg.post("/stations", json={"region_code": code, "status": "operating"})
            assert r.status_code == 201, r.text
            sids.append(r.json()["station_id"])
        pid = f"obs-{unique}"
        r = await reg.post(
            "/programmes",
            json={
                "programme_id": pid,
                "name": "蓝马甲行动",
                "scope_regions": ["36"],
                "start_date": start,
                "end_date": str(today() + timedelta(days=100)),
                "total_targets": {"service_sessions": 20, "person_times": {"elders": 200}},
            },
        )
        assert r.status_code == 201, r.text
        r = await reg.post(
            f"/programmes/{pid}/enrolments",
            json={"station_ids": sids, "enrolled_on": start, "targets": "split_total"},
        )
        assert r.status_code == 200, r.text
        org = await reg.post(
            "/organisations",
            json={
                "name": "观测基金会",
                "kind": "foundation",
                "credit_code": "91350100M000100Y43",
                "region_code": "36",
            },
        )
        assert org.status_code == 201, org.text
        assert (await reg.post("/stations", json={"region_code": "bad"})).status_code == 422

        async def copied() -> bool:
            planned = await act.post(
                "/activities",
                json={
                    "station_id": sids[0],
                    "programme_ids": [pid],
                    "service_area": "elder_services",
                    "kind": "community_event",
                    "activity_date": day,
                    "external_ref": f"obs-{unique}",
                },
            )
            return planned.status_code == 201

        await wait_for(copied, timeout_s=60, what="the registry copy in activities")
        aid = (await act.get("/activities", params={"station_id": sids[0]})).json()["items"][0][
            "activity_id"
        ]
        r = await act.post(
            f"/activities/{aid}/held",
            json={"held_on": day, "counts": {"sessions": 2, "person_times": {"elders": 60}}},
        )
        assert r.status_code == 200, r.text

        async def donor() -> str | None:
            r = await don.post(
                "/donors",
                json={"kind": "foundation", "region_code": "36", "org_id": org.json()["org_id"]},
            )
            return r.json()["donor_id"] if r.status_code == 201 else None

        await wait_for(donor, timeout_s=60, what="the registry copy in donations")
        fdn = await donor()
        pledge = {
            "donor_id": fdn,
            "station_id": sids[0],
            "amount_fen": 100_000,
            "period_start": start,
            "period_end": day,
        }
        made: dict[str, Any] = {}

        async def pledged() -> bool:
            # Until the donations service knows the station from the registry's events it
            # refuses the pledge (422, before the key is claimed, so retrying is fine).
            r = await don.post("/pledges", headers={"Idempotency-Key": f"{unique}-p"}, json=pledge)
            made["r"] = r
            return r.status_code == 201

        await wait_for(pledged, timeout_s=60, what="the station in the donations copy")
        fund = made["r"].json()["fund_id"]
        for i, (path, body) in enumerate(
            [
                (
                    f"/pledges/{fund}/gifts",
                    {
                        "kind": "cash",
                        "amount_fen": 80_000,
                        "receipt_no": "OBS-1",
                        "received_on": day,
                    },
                ),
                (
                    f"/funds/{fund}/allocations",
                    {"station_id": sids[0], "amount_fen": 50_000, "allocated_on": day},
                ),
            ]
        ):
            r = await don.post(path, headers={"Idempotency-Key": f"{unique}-{i}"}, json=body)
            assert r.status_code == 201, r.text
    # A message the poison service refuses: to its dead-letter topic.
    envelope = Envelope.wrap(Poison(n=1), source="/wushe/test", subject="p-1").model_copy(
        update={"topic": platform["poison_topic"]}
    )
    await publish_all(stack.cfg.kafka_bootstrap, [envelope])
    return pid


async def query(prometheus: str, expr: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=prometheus, timeout=30) as client:
        r = await client.get("/api/v1/query", params={"query": expr})
    body: dict[str, Any] = r.json()
    return body


async def test_every_panel_and_alert_query_runs_on_real_prometheus_with_data(
    stack: LocalStack, platform: dict[str, Any], unique: str
) -> None:
    pid = await drive_traffic(platform, stack, unique)
    prometheus = stack.cfg.prometheus_url
    panels = panel_exprs()
    assert len(panels) >= 20
    waiting = {name: substitute(expr, pid) for name, expr in panels}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 150
    while waiting and loop.time() < deadline:
        for name, expr in list(waiting.items()):
            body = await query(prometheus, expr)
            assert body["status"] == "success", (name, expr, body)
            if body["data"]["result"]:
                del waiting[name]
        if waiting:
            await asyncio.sleep(3)
    assert not waiting, f"panels without data: {json.dumps(waiting, ensure_ascii=False, indent=1)}"
    for name, expr in rule_exprs():
        body = await query(prometheus, expr)
        assert body["status"] == "success", (name, expr, body)
    # Prometheus loaded the rules from the repository.
    async with httpx.AsyncClient(base_url=prometheus) as client:
        loaded = (await client.get("/api/v1/rules")).json()["data"]["groups"]
    assert {r["name"] for g in loaded for r in g["rules"]} == {n for n, _ in rule_exprs()}
