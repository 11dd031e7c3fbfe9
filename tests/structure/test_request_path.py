"""What every request of every service goes through, checked on the apps as built (no stack
needed: building an app connects to nothing)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from activities.app import create_app as create_activities
from activities.settings import ActivitiesSettings
from donations.app import create_app as create_donations
from donations.settings import DonationsSettings
from projector.app import create_app as create_projector
from projector.settings import ProjectorSettings
from registry.app import create_app as create_registry
from registry.settings import RegistrySettings
from training.app import create_app as create_training
from training.settings import TrainingSettings
from volunteers.app import create_app as create_volunteers
from volunteers.settings import VolunteersSettings
from wushe.auth import DevKeys


def apps() -> dict[str, Any]:
    verifier = DevKeys.generate().verifier()
    return {
        "registry": create_registry(RegistrySettings(), token_verifier=verifier),
        "activities": create_activities(ActivitiesSettings(), token_verifier=verifier),
        "volunteers": create_volunteers(VolunteersSettings(), token_verifier=verifier),
        "donations": create_donations(DonationsSettings(), token_verifier=verifier),
        "training": create_training(TrainingSettings(), token_verifier=verifier),
        "projector": create_projector(ProjectorSettings(), token_verifier=verifier),
    }


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every endpoint, routers included (FastAPI keeps an included router as one entry)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from api_routes(included.routes)


def dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from dependencies(sub)


def test_every_route_dependency_is_a_coroutine() -> None:
    """FastAPI runs a plain-function dependency in its thread pool: a thread hop per
    dependency per request. The views API served half as many requests per second with its
    token check and lookups as plain functions (bench/RESULTS.md, P6)."""
    plain: list[str] = []
    routes = 0
    for name, app in apps().items():
        for route in api_routes(app.routes):
            routes += 1
            for dep in dependencies(route.dependant):
                call = dep.call
                if call is not None and not inspect.iscoroutinefunction(call):
                    plain.append(f"{name} {route.path}: {getattr(call, '__name__', call)}")
    assert routes > 100
    assert not plain, plain
