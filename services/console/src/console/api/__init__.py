"""The console's pages, one module per page family."""

from fastapi import APIRouter

from console.api import (
    foundation,
    home,
    oidc,
    programme,
    queues,
    record,
    record_attendance,
    record_visits,
    reports,
    signin,
    stations,
    workbooks,
)

router = APIRouter()
for module in (
    signin,
    oidc,
    home,
    programme,
    stations,
    record,
    record_visits,
    record_attendance,
    queues,
    foundation,
    reports,
    workbooks,  # after reports: its /reports/{kind} would take /reports/<view>.csv
):
    router.include_router(module.router)
