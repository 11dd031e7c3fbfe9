"""The local stack without Docker: Apache Kafka (KRaft), FerretDB and Prometheus.

One package installs, starts, checks and stops the three servers, used by the `wushe stack`
command and by the integration-test fixture alike, so tests run against exactly what a
developer runs. Installs are cached per user (``~/.cache/wushe``); data, logs and pid files
of one stack live in one folder (``WUSHE_HOME``, default ``<repo>/.wushe``).

Every step is idempotent: `up` on a running stack only checks its health, `install` skips
what is already cached. Failures raise `StackError` with a message a person can act on.

- `config`: where a stack lives and listens (`StackConfig`), `StackError`, shared helpers
- `install`: fetching and building the servers into the cache (`Installer`)
- `health`: the health checks
- `stack`: starting and stopping the processes (`LocalStack`, `running_stack`)

The services it runs, and their ports, come from the one table, `wushe_dev.services`.
"""

from wushe_dev.devstack.config import (
    COMPONENTS,
    StackConfig,
    StackError,
    free_port,
    mongo_url,
    repo_root,
)
from wushe_dev.devstack.health import http_ok, kafka_healthy, mongo_healthy
from wushe_dev.devstack.install import (
    FERRETDB_BUILD,
    FERRETDB_PATCHES,
    FERRETDB_VERSION,
    KAFKA_VERSION,
    KUSTOMIZE_VERSION,
    Installer,
    ferretdb_command,
)
from wushe_dev.devstack.stack import Component, LocalStack, running_stack
from wushe_dev.services import SERVICES, available_services

__all__ = [
    "COMPONENTS",
    "FERRETDB_BUILD",
    "FERRETDB_PATCHES",
    "FERRETDB_VERSION",
    "KAFKA_VERSION",
    "KUSTOMIZE_VERSION",
    "SERVICES",
    "Component",
    "Installer",
    "LocalStack",
    "StackConfig",
    "StackError",
    "available_services",
    "ferretdb_command",
    "free_port",
    "http_ok",
    "kafka_healthy",
    "mongo_healthy",
    "mongo_url",
    "repo_root",
    "running_stack",
]
