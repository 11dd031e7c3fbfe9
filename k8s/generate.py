"""Writes the Kubernetes manifests of k8s/base from what the code says, so they cannot drift:
the services and their ports (the one table, `wushe_dev.services`; the console, which
calls the others' APIs and has no store or topics, is deployed beside them), the topics each service
consumes (its Kafka subscribers) and produces (its event contracts), the topic settings
(`wushe.topics`), and the alert rules (deploy/prometheus/rules). The overlays are written
by hand. A test checks that the committed files equal this script's output.

    uv run python k8s/generate.py
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "k8s" / "base"
PART_OF = {"app.kubernetes.io/part-of": "wushe"}
KAFKA_CLUSTER = "wushe"
PARTNER_EXAMPLE = "example"  # the template partner's donor id, replaced when onboarding
CPU = {"registry": ("200m", "1"), "projector": ("500m", "2")}
MEMORY = {"registry": ("768Mi", "1536Mi"), "projector": ("512Mi", "1Gi")}


def services() -> dict[str, int]:
    from wushe_dev.services import SERVICES

    return {name: s.port for name, s in SERVICES.items()}


def api_services() -> dict[str, int]:
    """The services with an API, events and a store: all but the console."""
    from wushe_dev.services import API_SERVICES, SERVICES

    return {name: SERVICES[name].port for name in API_SERVICES}


def consumed(name: str) -> dict[str, tuple[str, ...]]:
    """The groups and topics a service consumes, read from its app's Kafka subscribers."""
    from wushe.auth import DevKeys
    from wushe.lag import subscriptions

    app_module = importlib.import_module(f"{name}.app")
    settings_module = importlib.import_module(f"{name}.settings")
    settings_cls = next(
        v
        for k, v in vars(settings_module).items()
        if k.endswith("Settings") and k != "ServiceSettings"
    )
    app = app_module.create_app(settings_cls(), token_verifier=DevKeys.generate().verifier())
    out: dict[str, set[str]] = {}
    for group, topics in subscriptions(app.state.ctx.broker):
        out.setdefault(group, set()).update(topics)
    return {g: tuple(sorted(t)) for g, t in sorted(out.items())}


def produced(name: str) -> tuple[str, ...]:
    from wushe.contracts.registry import load_all_contracts

    return tuple(sorted({c.topic for c in load_all_contracts() if c.topic.startswith(f"{name}.")}))


def labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, **PART_OF}


def secret_env(variable: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def service_resources(name: str, port: int) -> list[dict[str, Any]]:
    cpu, memory = CPU.get(name, ("100m", "1")), MEMORY.get(name, ("256Mi", "512Mi"))
    lab = labels(name)
    probe = {"httpGet": {"port": "http"}, "periodSeconds": 10, "timeoutSeconds": 3}
    console = name == "console"
    env_from: list[dict[str, Any]] = [{"configMapRef": {"name": "wushe-config"}}]
    if console:
        # The console keeps no personal data and no store: no PII key. Its session key
        # seals its cookies; its client secret is the identity provider's.
        env_from.append({"configMapRef": {"name": "wushe-console-config"}})
        env = [
            secret_env("WUSHE_SESSION_KEY", "wushe-console-session", "session-key"),
            secret_env("WUSHE_OIDC_CLIENT_SECRET", "wushe-console-oidc", "client-secret"),
        ]
    else:
        env = [secret_env("WUSHE_PII_KEY", f"wushe-{name}-pii", "pii-key")]
    container = {
        "name": name,
        "image": f"wushe/{name}:0.1.0",
        "ports": [{"name": "http", "containerPort": port}],
        "envFrom": env_from,
        "env": env,
        "readinessProbe": {
            **probe,
            "httpGet": {"path": "/health/ready", "port": "http"},
            "failureThreshold": 3,
        },
        "livenessProbe": {
            **probe,
            "httpGet": {"path": "/health/live", "port": "http"},
            "initialDelaySeconds": 20,
            "failureThreshold": 6,
        },
        "resources": {
            "requests": {"cpu": cpu[0], "memory": memory[0]},
            "limits": {"cpu": cpu[1], "memory": memory[1]},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "jwt", "mountPath": "/run/secrets/jwt", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 (an emptyDir: root fs read-only)
        ],
    }
    max_replicas = 6  # the projector: no more than the partitions of its topics (6 at most)
    ingress_from: list[dict[str, Any]] = [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
        for ns in ("ingress-nginx", "monitoring")
    ]
    if not console:  # the console calls every service's API with the person's token
        ingress_from.append({"podSelector": {"matchLabels": labels("console")}})
    egress = console_egress() if console else store_and_bus_egress()
    if name == "donations":
        egress = [*egress, *webhook_egress()]
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "labels": lab},
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": lab},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": lab},
                "template": {
                    "metadata": {"labels": lab},
                    "spec": {
                        "serviceAccountName": name,
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [container],
                        "volumes": [
                            {"name": "jwt", "secret": {"secretName": "wushe-jwt-public-key"}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": lab},
            "spec": {
                "selector": lab,
                "ports": [{"name": "http", "port": port, "targetPort": "http"}],
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "labels": lab},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": 2,
                "maxReplicas": max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "labels": lab},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": lab}},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "labels": lab},
            "spec": {
                "podSelector": {"matchLabels": lab},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        # API clients (and the console's browsers) through the ingress
                        # controller, Prometheus, and for a service, the console.
                        "from": ingress_from,
                        "ports": [{"port": port, "protocol": "TCP"}],
                    }
                ],
                "egress": [*egress, *telemetry_and_dns_egress()],
            },
        },
    ]


def store_and_bus_egress() -> list[dict[str, Any]]:
    return [
        {
            "to": [{"podSelector": {"matchLabels": {"strimzi.io/cluster": KAFKA_CLUSTER}}}],
            "ports": [{"port": 9092, "protocol": "TCP"}],
        },
        {
            "to": [{"podSelector": {"matchLabels": labels("mongo")}}],
            "ports": [{"port": 27017, "protocol": "TCP"}],
        },
    ]


def webhook_egress() -> list[dict[str, Any]]:
    """Partner foundations' webhook receivers (decision 0042): HTTPS anywhere on the
    internet, never into a private network or the cluster (the service refuses such
    addresses itself too)."""
    private = [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "127.0.0.0/8",
    ]
    return [
        {
            "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": private}}],
            "ports": [{"port": 443, "protocol": "TCP"}],
        }
    ]


def console_egress() -> list[dict[str, Any]]:
    """The console reaches the services' APIs and the identity provider, and nothing else:
    no Kafka, no store."""
    return [
        *(
            {
                "to": [{"podSelector": {"matchLabels": labels(name)}}],
                "ports": [{"port": port, "protocol": "TCP"}],
            }
            for name, port in api_services().items()
        ),
        {
            # The identity provider (discovery, token endpoint, JWKS) over HTTPS, outside
            # the cluster; an overlay may narrow the block to the provider's addresses.
            "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
            "ports": [{"port": 443, "protocol": "TCP"}],
        },
    ]


def telemetry_and_dns_egress() -> list[dict[str, Any]]:
    return [
        {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "observability"}
                    },
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "otel-collector"}},
                }
            ],
            "ports": [{"port": 4318, "protocol": "TCP"}],
        },
        {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                    },
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [
                {"port": 53, "protocol": "UDP"},
                {"port": 53, "protocol": "TCP"},
            ],
        },
    ]


def console_config() -> dict[str, Any]:
    """The console's own settings: where the services answer (their Services in this
    namespace) and its sign-in, which an overlay completes (docs/sign-in.md)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "wushe-console-config", "labels": labels("console")},
        "data": {
            **{
                f"WUSHE_{name.upper()}_URL": f"http://{name}:{port}"
                for name, port in api_services().items()
            },
            # The console's address as browsers see it, and the identity provider: an
            # overlay sets them (the callback is <public url>/signin/callback).
            "WUSHE_PUBLIC_URL": "",
            "WUSHE_OIDC_ISSUER": "",
            "WUSHE_OIDC_CLIENT_ID": "wushe-console",
        },
    }


def kafka_resources(
    subscriptions: dict[str, dict[str, tuple[str, ...]]], producers: dict[str, tuple[str, ...]]
) -> list[dict[str, Any]]:
    from projector.views import VIEWS
    from wushe.topics import (
        PARTNER_TOPIC,
        REGISTRY_TOPICS,
        kept_forever,
        partner_feed,
        partner_groups,
        partner_user,
    )

    view_sources = kept_forever(t for view in VIEWS for t in view.topics)
    specs = {s.name: s for s in (*view_sources, *REGISTRY_TOPICS, PARTNER_TOPIC)}
    topics = sorted({t for ts in producers.values() for t in ts})
    consumed_topics = sorted(
        {t for groups in subscriptions.values() for ts in groups.values() for t in ts}
    )
    out: list[dict[str, Any]] = [
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaNodePool",
            "metadata": {
                "name": "dual-role",
                "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, **PART_OF},
            },
            "spec": {
                "replicas": 3,
                "roles": ["controller", "broker"],
                "storage": {
                    "type": "jbod",
                    "volumes": [
                        {"id": 0, "type": "persistent-claim", "size": "100Gi", "deleteClaim": False}
                    ],
                },
            },
        },
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "Kafka",
            "metadata": {
                "name": KAFKA_CLUSTER,
                "labels": PART_OF,
                "annotations": {
                    "strimzi.io/node-pools": "enabled",
                    "strimzi.io/kraft": "enabled",
                },
            },
            "spec": {
                "kafka": {
                    "version": "4.1.0",
                    "listeners": [
                        {
                            # The platform's services, inside the namespace: Strimzi limits
                            # who may connect (networkPolicyPeers) to the Wushe pods.
                            "name": "plain",
                            "port": 9092,
                            "type": "internal",
                            "tls": False,
                            "networkPolicyPeers": [{"podSelector": {"matchLabels": PART_OF}}],
                        },
                        {
                            # Partner foundations: TLS and SCRAM, each a KafkaUser with ACLs.
                            "name": "partners",
                            "port": 9093,
                            "type": "route",
                            "tls": True,
                            "authentication": {"type": "scram-sha-512"},
                        },
                    ],
                    "authorization": {
                        "type": "simple",
                        # The unauthenticated internal listener is the platform itself.
                        "superUsers": ["ANONYMOUS"],
                    },
                    "config": {
                        "default.replication.factor": 3,
                        "min.insync.replicas": 2,
                        "num.partitions": 3,
                        "auto.create.topics.enable": False,
                        "unclean.leader.election.enable": False,
                        "offsets.topic.replication.factor": 3,
                        "transaction.state.log.replication.factor": 3,
                        "transaction.state.log.min.isr": 2,
                    },
                },
                "entityOperator": {"topicOperator": {}, "userOperator": {}},
            },
        },
    ]
    for topic in sorted({*topics, *consumed_topics, *(f"{t}.dlq" for t in consumed_topics)}):
        spec = specs.get(topic)
        config: dict[str, Any] = {"min.insync.replicas": 2}
        if spec is not None and spec.retention_ms is not None:
            config["retention.ms"] = spec.retention_ms
        elif topic.endswith(".dlq"):
            config["retention.ms"] = 30 * 24 * 3600 * 1000  # a month to look and replay
        out.append(
            {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaTopic",
                "metadata": {
                    "name": topic.replace(".", "-"),
                    "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, **PART_OF},
                },
                "spec": {
                    "topicName": topic,
                    "partitions": spec.partitions if spec else 3,
                    "replicas": 3,
                    "config": config,
                },
            }
        )
    out.append(
        {
            # A template for each partner foundation: copy, rename `example` to the
            # foundation's donor id (docs/operations.md, "Onboard a partner foundation"). It
            # reads its own feed only, which the donations service creates and fills
            # (docs/decisions/0028-a-feed-per-partner.md).
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaUser",
            "metadata": {
                "name": partner_user(PARTNER_EXAMPLE),
                "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, **PART_OF},
            },
            "spec": {
                "authentication": {"type": "scram-sha-512"},
                "authorization": {
                    "type": "simple",
                    "acls": [
                        {
                            "resource": {
                                "type": "topic",
                                "name": partner_feed(PARTNER_EXAMPLE).name,
                                "patternType": "literal",
                            },
                            "operations": ["Read", "Describe"],
                        },
                        {
                            "resource": {
                                "type": "group",
                                "name": partner_groups(PARTNER_EXAMPLE),
                                "patternType": "prefix",
                            },
                            "operations": ["Read"],
                        },
                    ],
                },
            },
        }
    )
    return out


INIT_REPLICA_SET = (
    "try { rs.status().ok } catch (e) { rs.initiate({_id: 'rs0', members: "
    "[0, 1, 2].map(i => ({_id: i, host: `mongo-${i}.mongo:27017`}))}).ok }"
)


def mongo_resources() -> list[dict[str, Any]]:
    lab = labels("mongo")
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "mongo", "labels": lab},
            "spec": {
                "clusterIP": "None",
                "selector": lab,
                "ports": [{"name": "mongo", "port": 27017, "targetPort": 27017}],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "mongo", "labels": lab},
            "spec": {
                "serviceName": "mongo",
                "replicas": 3,
                "selector": {"matchLabels": lab},
                "template": {
                    "metadata": {"labels": lab},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 999,
                            "fsGroup": 999,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": "mongo",
                                "image": "mongo:7.0.14",
                                "args": ["--replSet", "rs0", "--bind_ip_all"],
                                "ports": [{"name": "mongo", "containerPort": 27017}],
                                "readinessProbe": {
                                    "exec": {
                                        "command": [
                                            "mongosh",
                                            "--quiet",
                                            "--eval",
                                            "db.adminCommand('ping').ok",
                                        ]
                                    },
                                    "periodSeconds": 10,
                                    "timeoutSeconds": 5,
                                },
                                "livenessProbe": {
                                    "tcpSocket": {"port": 27017},
                                    "initialDelaySeconds": 30,
                                    "periodSeconds": 20,
                                },
                                "resources": {
                                    "requests": {"cpu": "500m", "memory": "2Gi"},
                                    "limits": {"cpu": "2", "memory": "4Gi"},
                                },
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                                "volumeMounts": [{"name": "data", "mountPath": "/data/db"}],
                            }
                        ],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "100Gi"}},
                        },
                    }
                ],
            },
        },
        {
            # Initiates the replica set once (idempotent: an initiated set answers ok).
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "mongo-replica-set-init", "labels": lab},
            "spec": {
                "backoffLimit": 20,
                "template": {
                    "metadata": {"labels": lab},
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "automountServiceAccountToken": False,
                        "securityContext": {"runAsNonRoot": True, "runAsUser": 999},
                        "containers": [
                            {
                                "name": "init",
                                "image": "mongo:7.0.14",
                                "command": [
                                    "mongosh",
                                    "--host",
                                    "mongo-0.mongo",
                                    "--quiet",
                                    "--eval",
                                    INIT_REPLICA_SET,
                                ],
                                "resources": {
                                    "requests": {"cpu": "50m", "memory": "64Mi"},
                                    "limits": {"cpu": "200m", "memory": "256Mi"},
                                },
                                "securityContext": {"allowPrivilegeEscalation": False},
                            }
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "mongo", "labels": lab},
            "spec": {
                "podSelector": {"matchLabels": lab},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": PART_OF}}],
                        "ports": [{"port": 27017, "protocol": "TCP"}],
                    }
                ],
            },
        },
    ]


def monitoring_resources() -> list[dict[str, Any]]:
    rules = []
    for path in sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml")):
        rules.extend(yaml.safe_load(path.read_text())["groups"])
    return [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": "wushe-services", "labels": PART_OF},
            "spec": {
                "selector": {"matchLabels": PART_OF},
                "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}],
                "targetLabels": ["app.kubernetes.io/name"],
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": "wushe-alerts", "labels": PART_OF},
            "spec": {"groups": rules},
        },
    ]


def config_map() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "wushe-config", "labels": PART_OF},
        "data": {
            "WUSHE_ENVIRONMENT": "production",
            "WUSHE_KAFKA_BOOTSTRAP": f"{KAFKA_CLUSTER}-kafka-bootstrap:9092",
            "WUSHE_MONGO_URL": "mongodb://mongo-0.mongo:27017,mongo-1.mongo:27017,"
            "mongo-2.mongo:27017/?replicaSet=rs0",
            # An overlay sets the identity provider's JWKS (https) and WUSHE_JWT_ISSUER
            # (docs/sign-in.md); while it is empty, the public key below verifies tokens.
            "WUSHE_JWKS_URL": "",
            "WUSHE_JWT_PUBLIC_KEY_FILE": "/run/secrets/jwt/jwt-public.pem",
            "WUSHE_OTLP_ENDPOINT": "http://otel-collector.observability:4318",
            "WUSHE_LOG_LEVEL": "INFO",
        },
    }


def dump(path: Path, docs: list[dict[str, Any]], note: str) -> None:
    text = f"# Generated by k8s/generate.py ({note}); do not edit by hand.\n" + "---\n".join(
        yaml.safe_dump(d, sort_keys=False, allow_unicode=True, width=100) for d in docs
    )
    path.write_text(text)


def render() -> dict[Path, str]:
    """Every base file and its text (written by main, compared by the test)."""
    import tempfile

    names = services()
    subscriptions = {name: consumed(name) for name in api_services()}  # the console: none
    producers = {name: produced(name) for name in api_services()}
    out: dict[Path, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = []
        for name, port in names.items():
            docs = service_resources(name, port)
            if name == "console":
                docs.append(console_config())
            dump(work / f"{name}.yaml", docs, f"the {name} service")
            files.append(f"{name}.yaml")
        dump(work / "kafka.yaml", kafka_resources(subscriptions, producers), "Strimzi Kafka")
        dump(work / "mongo.yaml", mongo_resources(), "MongoDB replica set")
        dump(work / "monitoring.yaml", monitoring_resources(), "Prometheus Operator")
        dump(work / "config.yaml", [config_map()], "shared configuration")
        files += ["kafka.yaml", "mongo.yaml", "monitoring.yaml", "config.yaml"]
        kustomization = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "labels": [{"pairs": PART_OF, "includeSelectors": False}],
            "resources": sorted(files),
        }
        (work / "kustomization.yaml").write_text(
            "# Generated by k8s/generate.py; do not edit by hand.\n"
            + yaml.safe_dump(kustomization, sort_keys=False)
        )
        for path in sorted(work.iterdir()):
            out[BASE / path.name] = path.read_text()
    return out


def main() -> None:
    BASE.mkdir(parents=True, exist_ok=True)
    for path, text in render().items():
        path.write_text(text)
    print(f"wrote {len(render())} files to {BASE}", file=sys.stderr)


if __name__ == "__main__":
    main()
