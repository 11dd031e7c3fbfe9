"""The one document-store client a process opens (MongoDB or FerretDB)."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

Doc = dict[str, Any]


def create_mongo_client(
    url: str, *, timeout_ms: int = 5000, app_name: str = "wushe"
) -> AsyncMongoClient[Doc]:
    """One client per process. Works on MongoDB and on FerretDB (directConnection, no
    retryable writes: FerretDB v1 has no sessions to retry them in)."""
    return AsyncMongoClient(
        url,
        tz_aware=True,
        appname=app_name,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms * 3, 15_000),
    )
