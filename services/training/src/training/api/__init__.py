"""Thin REST routers, one per sub-domain: parse, call the command path (`wushe.commands`) with
the domain's rules, answer."""

from __future__ import annotations

from fastapi import APIRouter

from training.api import courses, evaluations, sessions, supervision

router = APIRouter()
for sub in (courses.router, sessions.router, supervision.router, evaluations.router):
    router.include_router(sub)

__all__ = ["router"]
