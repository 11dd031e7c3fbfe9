"""Every route of every service, asked without a valid token, answers 401: missing, junk,
`alg: none`, expired, wrong audience, wrong issuer, signed by another key. Nothing is
reached without authentication except the routes listed as public here, each for a reason."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import httpx
import jwt

from wushe.auth import DevKeys

# Reachable without a token, on purpose.
PUBLIC = {
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    # A certificate's holder shows it to anyone; the check reveals only what it signs.
    ("POST", "/certificates/verify"),
    # Charitable giving is public by law (慈善法); the accounts never name a person who gave.
    ("GET", "/disclosure/funds/{fund_id}"),
    ("GET", "/disclosure/funds/{fund_id}.csv"),
    ("GET", "/disclosure/funds/{fund_id}/page"),
    ("GET", "/disclosure/programmes/{programme_id}"),
    ("GET", "/disclosure/programmes/{programme_id}.csv"),
    ("GET", "/disclosure/programmes/{programme_id}/page"),
    ("GET", "/disclosure/funders/{funder_id}/360giving.json"),
}


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def bad_tokens(keys: DevKeys) -> dict[str, str | None]:
    now = int(time.time())
    claims = {
        "iss": keys.ISSUER,
        "aud": keys.AUDIENCE,
        "sub": "intruder",
        "iat": now,
        "exp": now + 600,
        "region_scope": "36",
        "roles": ["admin"],
    }

    def signed(**override: Any) -> str:
        # Signed by the right key, with its key id: only the claim under test is wrong.
        return jwt.encode(
            {**claims, **override}, keys._private, algorithm="EdDSA", headers={"kid": keys.kid}
        )

    return {
        "missing": None,
        "junk": "not-a-token",
        "alg none": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + ".",
        "expired": signed(iat=now - 7200, exp=now - 3600),
        "wrong audience": signed(aud="someone-else"),
        "wrong issuer": signed(iss="evil"),
        "another key": DevKeys.generate().issue(subject="x", region_scope="36", roles=["admin"]),
    }


async def test_every_route_refuses_every_bad_token(unique: str, platform: Any) -> None:
    keys = DevKeys.generate()
    tokens = bad_tokens(keys)
    checked = 0
    async with platform(unique, keys) as urls:
        for name in ("registry", "activities", "volunteers", "donations", "training", "projector"):
            base = getattr(urls, name)
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                spec = (await client.get("/openapi.json")).json()
                for path, operations in spec["paths"].items():
                    for method in operations:
                        if (method.upper(), path) in PUBLIC:
                            continue
                        url = re.sub(r"\{[^/]+\}", "x-1", path)
                        for why, token in tokens.items():
                            headers = {"Authorization": f"Bearer {token}"} if token else {}
                            r = await client.request(method.upper(), url, headers=headers)
                            assert r.status_code == 401, (name, method, path, why, r.text)
                            media = r.headers["content-type"]
                            assert media == "application/problem+json", (name, path, media)
                            assert r.json()["status"] == 401
                            assert "intruder" not in r.text  # nothing echoed back
                            checked += 1
    assert checked > 7 * 100  # every route of six services, seven ways each
