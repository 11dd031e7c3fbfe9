"""Signing keys rotate without a restart, on a real service (the registry, on the test stack)
that verifies tokens against a JWKS served over loopback HTTP, as it would ask a province's
identity provider: a token signed by a key rotated in verifies at once; once the old key is
retired from the JWKS and the JWKS cache lifespan has passed, its tokens are refused (401),
one the service had already seen as well as a fresh one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wushe.auth import DevKeys, TokenVerifier
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import drop_databases, service_app
from wushe_dev.testing import serve

CACHE_S = 1.0  # the services' JWKS cache lifespan in this test (300 s by default)


@contextlib.contextmanager
def served(keys: DevKeys) -> Iterator[tuple[str, list[str]]]:
    """`keys.jwks()` served at http://127.0.0.1:<port>/jwks.json, as it is at each request;
    the URL, and the list of fetches so far."""
    fetched: list[str] = []

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/jwks.json":
                self.send_error(404)
                return
            body = json.dumps(keys.jwks()).encode()
            fetched.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, name="jwks", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks.json", fetched
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class ServedKeys(DevKeys):
    """Dev keys whose verifier asks their JWKS over HTTP, as a service asks its identity
    provider (`service_app` builds the service's verifier with `keys.verifier()`)."""

    url = ""

    def verifier(self, **options: Any) -> TokenVerifier:
        return super().verifier(jwks=self.url, jwks_cache_s=CACHE_S, **options)


def officer(signer: DevKeys) -> dict[str, str]:
    token = signer.issue(subject="officer", region_scope="36", roles=["county_officer"])
    return {"Authorization": f"Bearer {token}"}


async def test_a_rotated_key_verifies_at_once_and_a_retired_one_stops(
    stack: LocalStack, unique: str
) -> None:
    keys = ServedKeys(Ed25519PrivateKey.generate())
    with served(keys) as (url, fetched):
        keys.url = url
        app = service_app(stack, "registry", unique, keys)
        try:
            async with serve(app, "registry") as registry:
                old = DevKeys(keys._private)  # the old key, kept by whoever held it
                old_kid = keys.kid
                seen = officer(old)
                assert (await registry.get("/stations", headers=seen)).status_code == 200
                assert len(fetched) == 1

                keys.rotate()  # the identity provider signs with a new key from now on
                r = await registry.get("/stations", headers=officer(keys))
                assert r.status_code == 200, r.text  # at once: no restart, no wait
                assert len(fetched) == 2  # its unknown kid refetched the JWKS
                assert (await registry.get("/stations", headers=seen)).status_code == 200

                keys.retire(old_kid)  # out of the JWKS
                await asyncio.sleep(CACHE_S + 0.5)
                for headers in (seen, officer(old)):
                    r = await registry.get("/stations", headers=headers)
                    assert r.status_code == 401, r.text
                    assert f'no signing key \\"{old_kid}\\"' in r.text
                r = await registry.get("/stations", headers=officer(keys))
                assert r.status_code == 200, r.text
        finally:
            await drop_databases(stack, app.state.ctx.settings.mongo_db)
