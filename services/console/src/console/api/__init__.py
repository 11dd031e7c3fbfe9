"""The console's pages, one module per page family."""

from fastapi import APIRouter

from console.api import (
    foundation,
    home,
    oidc,
    programme,
    queues,
    record,
    reports,
    signin,
    stations,
)

router = APIRouter()
for module in (signin, oidc, home, programme, stations, record, queues, foundation, reports):
    router.include_router(module.router)
