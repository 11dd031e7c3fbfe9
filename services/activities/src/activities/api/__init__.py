"""Thin REST routers, one per sub-domain: parse, call the command path (`wushe.commands`) with
the domain's rules, answer."""

from __future__ import annotations

from fastapi import APIRouter

from activities.api import activities, casework_imports, client_files, imports, visits
from activities.api.deps import Activities

router = APIRouter()
for sub in (activities, visits, client_files, imports, casework_imports):
    router.include_router(sub.router)

__all__ = ["Activities", "router"]
