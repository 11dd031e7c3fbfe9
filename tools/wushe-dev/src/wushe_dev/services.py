"""The one table of the platform's services: name, distribution, app module, port.

Everything that names a service or its port follows it: the local stack (which services it
runs and where), the `wushe` commands (their default URLs), the Kubernetes generator
(k8s/generate.py). docker-compose.yml, the service Dockerfile's use in compose, the
Prometheus scrape targets of compose and the README's services table are written by hand
and checked against it (tests/deploy/test_service_table.py). The services themselves do
not know their port: it is given to uvicorn by whoever starts them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    # The console is the people's web application in front of the others' APIs: it owns no
    # data, consumes no events and is called by browsers, not by integrations.
    console: bool = False

    @property
    def package(self) -> str:
        """The import package (services/<name>/src/<name>)."""
        return self.name

    @property
    def distribution(self) -> str:
        """The workspace member that ships it (services/<name>/pyproject.toml)."""
        return f"wushe-{self.name}"

    @property
    def module(self) -> str:
        """The module with the `app_from_env()` factory uvicorn starts."""
        return f"{self.package}.app"

    @property
    def factory(self) -> str:
        """What `uvicorn --factory` is given."""
        return f"{self.module}:app_from_env"


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service("registry", 8101),
        Service("activities", 8102),
        Service("volunteers", 8103),
        Service("donations", 8104),
        Service("training", 8105),
        Service("projector", 8110),
        Service("console", 8100, console=True),
    )
}
# The services with a public REST API, events and a store of their own (all but the console).
API_SERVICES: tuple[str, ...] = tuple(name for name, s in SERVICES.items() if not s.console)


def port(name: str) -> int:
    """A service's default port (the local stack's, compose's and the containers')."""
    return SERVICES[name].port


def local_url(name: str) -> str:
    """Where the local stack serves a service by default."""
    return f"http://127.0.0.1:{port(name)}"


def available_services() -> tuple[str, ...]:
    """The services whose package is installed (the local stack runs only those)."""
    return tuple(
        name for name, s in SERVICES.items() if importlib.util.find_spec(s.package) is not None
    )
