"""One table of the services (`wushe_dev.services.SERVICES`: name, module, port) and everything
written by hand that names them follows it: the workspace members, docker-compose.yml (the
image built from deploy/service.Dockerfile with the service's name and port, the published
port, the health check), compose's Prometheus targets and the README's services table. The
local stack, the `wushe` commands and k8s/generate.py read the table itself."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from wushe_dev.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
README_ROW = re.compile(r"^\|\s*([a-z]+)\s*\|\s*(\d{2,5})\s*\|", re.M)


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return services


def test_every_service_of_the_workspace_is_in_the_table_with_its_factory() -> None:
    members = {p.parent.name for p in ROOT.glob("services/*/pyproject.toml")}
    assert members == set(SERVICES)
    for name, service in SERVICES.items():
        project = tomllib.loads((ROOT / "services" / name / "pyproject.toml").read_text())
        assert project["project"]["name"] == service.distribution
        assert (ROOT / "services" / name / "src" / service.package).is_dir()
        assert callable(importlib.import_module(service.module).app_from_env), service.factory
    ports = [s.port for s in SERVICES.values()]
    assert len(set(ports)) == len(ports), "two services on one port"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_compose_builds_and_runs_each_service_as_the_table_says(name: str) -> None:
    port = SERVICES[name].port
    svc = compose_services()[name]
    build = svc["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == "deploy/service.Dockerfile"
    assert build["args"]["SERVICE"] == name
    assert str(build["args"]["PORT"]) == str(port)
    assert svc["image"].startswith(f"wushe/{name}:")
    assert svc["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert f"http://127.0.0.1:{port}/health/ready" in " ".join(svc["healthcheck"]["test"])


def test_compose_builds_no_service_the_table_does_not_know() -> None:
    built = {n for n, s in compose_services().items() if "build" in s}
    assert built == set(SERVICES)


def test_compose_prometheus_scrapes_each_service_on_its_port() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "compose" / "prometheus.yml").read_text())
    targets = {
        static["labels"]["service"]: static["targets"]
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        if "service" in static.get("labels", {})
    }
    assert targets == {name: [f"{name}:{s.port}"] for name, s in SERVICES.items()}


def test_the_readme_table_of_services_follows_the_table() -> None:
    """The README's services table: rows that begin `| <name> | <port> |`."""
    rows = {name: int(port) for name, port in README_ROW.findall((ROOT / "README.md").read_text())}
    assert rows == {name: s.port for name, s in SERVICES.items()}, (
        "README.md: one row `| <service> | <port> | ...` per service, as in wushe_dev/services.py"
    )
