"""The front door: each person lands on the page of their work."""

from __future__ import annotations

from fastapi import APIRouter

from console.api.deps import SignedIn, home_of, see_other

router = APIRouter()


@router.get("/")
async def home(session: SignedIn):  # type: ignore[no-untyped-def]
    return see_other(home_of(session))
