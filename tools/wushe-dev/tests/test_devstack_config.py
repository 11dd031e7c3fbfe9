"""Pure parts of the local stack: configuration and the clear failure when a tool is missing."""

from pathlib import Path

import pytest

from wushe_dev.devstack import (
    FERRETDB_PATCHES,
    Installer,
    LocalStack,
    StackConfig,
    StackError,
)
from wushe_dev.devstack.install import patch_sources


def test_ports_and_folders_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WUSHE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WUSHE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("WUSHE_KAFKA_PORT", "19092")
    monkeypatch.setenv("WUSHE_MONGO_PORT", "37017")
    cfg = StackConfig.from_env()
    assert cfg.home == tmp_path / "home"
    assert cfg.cache == tmp_path / "cache"
    assert cfg.kafka_bootstrap == "127.0.0.1:19092"
    assert cfg.mongo_url == ("mongodb://127.0.0.1:37017/?directConnection=true&retryWrites=false")
    assert cfg.env()["WUSHE_KAFKA_BOOTSTRAP"] == "127.0.0.1:19092"


def test_throwaway_stacks_use_distinct_free_ports(tmp_path: Path) -> None:
    a = StackConfig.throwaway(tmp_path / "a")
    ports = [
        a.kafka_port,
        a.controller_port,
        a.partner_port,
        a.mongo_port,
        a.ferretdb_debug_port,
        a.prometheus_port,
    ]
    assert len(set(ports)) == len(ports)
    assert a.cache == StackConfig.from_env().cache  # installs are shared, data is not


def test_missing_tool_is_a_clear_error_not_a_hang(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    installer = Installer(StackConfig(home=tmp_path / "h", cache=tmp_path / "c"))
    with pytest.raises(StackError, match="`java` is not on PATH"):
        installer.install_kafka()
    with pytest.raises(StackError, match="`go` is not on PATH"):
        installer.install_ferretdb()


def test_status_of_a_stack_that_never_ran(tmp_path: Path) -> None:
    stack = LocalStack(
        StackConfig(
            home=tmp_path, cache=tmp_path / "c", kafka_port=1, mongo_port=1, prometheus_port=1
        )
    )
    status = stack.status()
    assert status == {
        name: {"pid": None, "running": False, "healthy": False}
        for name in ("kafka", "ferretdb", "prometheus")
    }
    stack.down()  # stopping what is not running is fine


def test_scrape_targets_are_file_sd_json(tmp_path: Path) -> None:
    import json

    stack = LocalStack(StackConfig(home=tmp_path, cache=tmp_path / "c"))
    path = stack.register_scrape_target("registry", "127.0.0.1:8101", {"env": "local"})
    assert json.loads(path.read_text()) == [
        {"targets": ["127.0.0.1:8101"], "labels": {"service": "registry", "env": "local"}}
    ]


def test_a_source_patch_applies_once_or_stops_the_build(tmp_path: Path) -> None:
    relative, published, built = FERRETDB_PATCHES[0]
    assert published is not None
    source = tmp_path / relative
    source.parent.mkdir(parents=True)
    source.write_text(f"const (\n\t{published}\n)\n", encoding="utf-8")
    patch_sources(tmp_path, FERRETDB_PATCHES[:1])
    assert source.read_text(encoding="utf-8") == f"const (\n\t{built}\n)\n"
    # Applied twice, or to a release whose line changed: an error, not an unpatched binary.
    with pytest.raises(StackError, match="cannot patch"):
        patch_sources(tmp_path, FERRETDB_PATCHES[:1])


def test_a_source_file_is_added_only_where_the_release_has_none(tmp_path: Path) -> None:
    added = [patch for patch in FERRETDB_PATCHES if patch[1] is None]
    assert [Path(relative).name for relative, _, _ in added] == ["wushe_pushdown.go"]
    relative, _, text = added[0]
    assert "package sqlite" in text
    (tmp_path / relative).parent.mkdir(parents=True)
    patch_sources(tmp_path, tuple(added))
    assert (tmp_path / relative).read_text(encoding="utf-8") == text
    with pytest.raises(StackError, match="cannot add"):
        patch_sources(tmp_path, tuple(added))


def test_the_stack_and_the_scenario_follow_the_services_table(tmp_path: Path) -> None:
    """Every service of the table gets a port of its own in a stack and a process when its
    package is installed; every service with an API (all but the console) an endpoint in
    the scenario."""
    from dataclasses import fields

    from wushe_dev.scenario import Endpoints
    from wushe_dev.services import API_SERVICES, SERVICES, available_services

    assert {f.name for f in fields(Endpoints)} == set(API_SERVICES)
    assert [n for n, s in SERVICES.items() if s.console] == ["console"]
    assert StackConfig(home=tmp_path, cache=tmp_path).service_port("projector") == 8110
    throwaway = StackConfig.throwaway(tmp_path / "t")
    assert len({throwaway.service_port(name) for name in SERVICES}) == len(SERVICES)
    assert set(available_services()) == set(SERVICES)  # every service is in the workspace
    stack = LocalStack(StackConfig(home=tmp_path, cache=tmp_path / "c"))
    assert set(SERVICES) <= set(stack.components)
    command = stack.components["projector"].command()
    assert command[command.index("--factory") + 1] == "projector.app:app_from_env"
    assert command[command.index("--port") + 1] == "8110"
