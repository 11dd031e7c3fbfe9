"""Thin REST routers, one per sub-domain: parse, call the command path (`wushe.commands`) with
the domain's rules, answer."""

from __future__ import annotations

from fastapi import APIRouter

from training.api import courses, evaluations, imports, sessions, supervision

router = APIRouter()
for sub in (courses, sessions, supervision, evaluations, imports):
    router.include_router(sub.router)

__all__ = ["router"]
