"""Thin REST routers, one per sub-domain: parse, call the command path (`wushe.commands`) with
the domain's rules, answer."""

from __future__ import annotations

from fastapi import APIRouter

from activities.api import activities, client_files, imports, visits
from activities.api.deps import Activities

router = APIRouter()
for sub in (activities.router, visits.router, client_files.router, imports.router):
    router.include_router(sub)

__all__ = ["Activities", "router"]
