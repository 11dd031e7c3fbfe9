import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from wushe import permissions
from wushe.auth import (
    DEFAULT_LEEWAY_S,
    CurrentPrincipal,
    DevKeys,
    Principal,
    TokenError,
    TokenVerifier,
)
from wushe.service import create_service_app
from wushe.settings import ServiceSettings


@pytest.fixture(scope="module")
def keys() -> DevKeys:
    return DevKeys.generate()


def test_issued_token_verifies_with_scope_and_roles(keys: DevKeys) -> None:
    token = keys.issue(subject="u1", region_scope="360100", roles=["county_officer"])
    assert jwt.get_unverified_header(token)["kid"] == keys.kid
    p = keys.verifier().verify(token)
    assert p == Principal("u1", "3601", frozenset({"county_officer"}))
    assert p.can_see("360102001")
    assert not p.can_see("360202001")
    assert not p.can_see(None)


def valid_claims(**override: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "wushe-dev",
        "aud": "wushe",
        "sub": "x",
        "iat": now,
        "exp": now + 60,
        "region_scope": "36",
    }
    return {**claims, **override}


def signed(keys: DevKeys, claims: dict[str, object], kid: str | None = None) -> str:
    return jwt.encode(claims, keys._private, algorithm="EdDSA", headers={"kid": kid or keys.kid})


def _b64(obj: dict) -> str:  # type: ignore[type-arg]
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_alg_none_is_rejected(keys: DevKeys) -> None:
    claims = valid_claims()
    token = _b64({"alg": "none", "typ": "JWT", "kid": keys.kid}) + "." + _b64(claims) + "."
    with pytest.raises(TokenError, match="alg value is not allowed"):
        keys.verifier().verify(token)


def test_hs256_signed_with_the_public_key_is_rejected(keys: DevKeys) -> None:
    claims = valid_claims()
    # The classic confusion attack: HMAC-sign with the public key as the secret. PyJWT
    # refuses to produce such a token, so sign it by hand.
    signing_input = _b64({"alg": "HS256", "typ": "JWT", "kid": keys.kid}) + "." + _b64(claims)
    mac = hmac.new(keys.public_pem().encode(), signing_input.encode(), hashlib.sha256)
    forged = signing_input + "." + base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
    with pytest.raises(TokenError, match="alg value is not allowed"):
        keys.verifier().verify(forged)


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"aud": "someone-else"}, "(?i)audience"),
        ({"iss": "evil"}, "issuer"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "not yet valid"),
        ({"region_scope": "3"}, "region_scope"),
    ],
)
def test_claims_are_checked(keys: DevKeys, override: dict, reason: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(TokenError, match=reason):
        keys.verifier().verify(signed(keys, valid_claims(**override)))


def test_leeway_is_two_seconds_and_a_token_3_s_past_expiry_is_refused(keys: DevKeys) -> None:
    assert DEFAULT_LEEWAY_S == 2
    assert ServiceSettings(service_name="x").jwt_leeway_s == 2
    now = int(time.time())
    verifier = keys.verifier()
    assert verifier.leeway_s == 2
    with pytest.raises(TokenError, match="expired"):
        verifier.verify(signed(keys, valid_claims(iat=now - 60, exp=now - 3)))
    # Within the leeway a clock a second behind the issuer's still accepts it.
    verifier.verify(signed(keys, valid_claims(iat=now - 60, exp=now - 1)))


def test_token_from_another_key_is_rejected(keys: DevKeys) -> None:
    other = DevKeys(Ed25519PrivateKey.generate())
    with pytest.raises(TokenError, match='no signing key "'):
        keys.verifier().verify(other.issue(subject="x", region_scope="36"))
    # Naming our kid does not help a token signed by another key.
    with pytest.raises(TokenError, match="Signature"):
        keys.verifier().verify(signed(other, valid_claims(), kid=keys.kid))


def test_a_token_without_kid_is_refused_by_a_jwks_verifier(keys: DevKeys) -> None:
    token = jwt.encode(valid_claims(), keys._private, algorithm="EdDSA")
    with pytest.raises(TokenError, match="kid"):
        keys.verifier().verify(token)


def test_the_fixed_public_key_mode_ignores_kid(keys: DevKeys) -> None:
    verifier = TokenVerifier(
        keys.public_pem(), algorithm=keys.ALGORITHM, issuer=keys.ISSUER, audience=keys.AUDIENCE
    )
    assert verifier.keys is None
    verifier.verify(jwt.encode(valid_claims(), keys._private, algorithm="EdDSA"))
    verifier.verify(keys.issue(subject="x", region_scope="36"))


def test_one_key_source_and_a_safe_jwks_url(keys: DevKeys) -> None:
    common: dict[str, Any] = {"algorithm": "EdDSA", "issuer": "i", "audience": "a"}
    with pytest.raises(ValueError, match="one JWT key source"):
        TokenVerifier(**common)
    with pytest.raises(ValueError, match="one JWT key source"):
        TokenVerifier(keys.public_pem(), jwks="https://idp.example/jwks", **common)
    for url in ("http://idp.example/jwks", "ftp://idp.example/jwks", "jwks.json"):
        with pytest.raises(ValueError, match="https"):
            TokenVerifier(jwks=url, **common)
    for url in ("https://idp.example/jwks", "http://127.0.0.1:1/jwks", "file:///x/jwks.json"):
        TokenVerifier(jwks=url, **common)  # fetched when first needed, not now


def counted(keys: DevKeys) -> tuple[list[int], Any]:
    fetched: list[int] = []

    def jwks() -> dict[str, Any]:
        fetched.append(1)
        return keys.jwks()

    return fetched, jwks


def test_a_rotated_in_key_verifies_at_once_by_refetching() -> None:
    keys = DevKeys.generate()
    fetched, jwks = counted(keys)
    verifier = keys.verifier(jwks=jwks)
    old = keys.issue(subject="a", region_scope="36")
    verifier.verify(old)
    verifier.verify(keys.issue(subject="b", region_scope="36"))
    assert len(fetched) == 1  # the cached set serves a known kid
    old_kid, new_kid = keys.kid, keys.rotate()
    assert new_kid != old_kid
    assert [k["kid"] for k in keys.jwks()["keys"]] == [new_kid, old_kid]
    assert verifier.verify(keys.issue(subject="c", region_scope="36")).subject == "c"
    assert len(fetched) == 2  # the unknown kid refetched the JWKS, no restart
    verifier._verified.clear()
    assert verifier.verify(old).subject == "a"  # not retired yet: still in the JWKS
    assert len(fetched) == 2


def test_unknown_kids_refetch_at_most_every_few_seconds(keys: DevKeys) -> None:
    fetched, jwks = counted(keys)
    verifier = keys.verifier(jwks=jwks)
    verifier.verify(keys.issue(subject="a", region_scope="36"))
    for n in range(3):
        with pytest.raises(TokenError, match='no signing key "made-up'):
            verifier.verify(signed(keys, valid_claims(), kid=f"made-up-{n}"))
    assert len(fetched) == 2  # the first unknown kid refetched; the next ones waited


def test_a_retired_key_stops_verifying_once_the_cache_lifespan_passes() -> None:
    keys = DevKeys.generate()
    verifier = keys.verifier(jwks_cache_s=0.5)
    old = keys.issue(subject="old", region_scope="36")
    verifier.verify(old)
    old_kid = keys.kid
    keys.rotate()
    new = keys.issue(subject="new", region_scope="36")
    verifier.verify(new)
    keys.retire(old_kid)
    verifier.verify(old)  # remembered, and the cached set still holds the key: a bound, not 0
    time.sleep(0.6)
    with pytest.raises(TokenError, match=f'no signing key "{old_kid}"'):
        verifier.verify(old)  # remembered no longer than the set that verified it
    assert verifier.verify(new).subject == "new"


def test_an_unreachable_jwks_refuses_tokens_and_is_retried_later(keys: DevKeys) -> None:
    calls: list[int] = []

    def down() -> dict[str, Any]:
        calls.append(1)
        raise OSError("connection refused")

    verifier = keys.verifier(jwks=down)
    token = keys.issue(subject="a", region_scope="36")
    for _ in range(3):
        with pytest.raises(TokenError, match="signing keys unavailable"):
            verifier.verify(token)
    assert len(calls) == 1  # not a fetch per request


def test_a_jwks_file_url_verifies(tmp_path: Path) -> None:
    keys = DevKeys.load_or_create(tmp_path)
    published = json.loads((tmp_path / "jwks.json").read_text())
    assert published == keys.jwks()
    assert not {"d"} & {m for k in published["keys"] for m in k}  # public keys only
    verifier = keys.verifier(jwks=(tmp_path / "jwks.json").as_uri())
    assert verifier.verify(keys.issue(subject="f", region_scope="36")).subject == "f"


def test_the_service_factory_builds_a_jwks_verifier_from_settings(tmp_path: Path) -> None:
    keys = DevKeys.load_or_create(tmp_path)
    settings = ServiceSettings(
        service_name="auth-wiring",
        jwks_url=(tmp_path / "jwks.json").as_uri(),
        jwks_cache_s=7,
        jwt_public_key=DevKeys.generate().public_pem(),  # the JWKS wins over it
    )
    verifier = create_service_app(settings, title="t").state.token_verifier
    assert verifier.keys is not None
    assert verifier.keys.cache_s == 7
    assert verifier.leeway_s == 2
    verifier.verify(keys.issue(subject="s", region_scope="36"))


def test_a_verified_token_is_remembered_until_it_expires(
    keys: DevKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = keys.verifier()
    verifier.leeway_s = 0
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(token: str, *args: object, **kwargs: object) -> object:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counting_decode)
    token = keys.issue(subject="u1", region_scope="36", ttl_s=1)
    first = verifier.verify(token)
    assert verifier.verify(token) == first
    assert decoded == [token]  # the second time from memory, no signature check
    # Another token with the same claims but a changed signature is not the same bytes.
    head, body, signature = token.split(".")
    tampered = f"{head}.{body}.{signature[::-1]}"
    with pytest.raises(TokenError):
        verifier.verify(tampered)
    time.sleep(2.1)  # past `exp`: remembered or not, the token is refused with the reason
    with pytest.raises(TokenError, match="expired"):
        verifier.verify(token)


def test_remembered_tokens_are_bounded(keys: DevKeys) -> None:
    verifier = keys.verifier(remembered=2)
    tokens = [keys.issue(subject=f"u{i}", region_scope="36") for i in range(3)]
    for token in tokens:
        verifier.verify(token)
    assert list(verifier._verified) == tokens[1:]  # the oldest forgotten first


async def test_dependency_gives_401_and_out_of_scope_is_404(keys: DevKeys) -> None:
    app = FastAPI()
    app.state.token_verifier = keys.verifier()
    app.state.permission_rows = {"GET /records/{rid}": permissions.READ}
    records = {"a": "360102001", "b": "440102001"}

    @app.get("/records/{rid}")
    def get_record(rid: str, who: CurrentPrincipal) -> dict[str, str]:
        who.require_visible(records.get(rid), "record")
        return {"id": rid}

    def auth(roles: list[str]) -> dict[str, str]:
        token = keys.issue(subject="u", region_scope="36", roles=roles)
        return {"Authorization": f"Bearer {token}"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/records/a")).status_code == 401
        junk = {"Authorization": "Bearer junk"}
        assert (await client.get("/records/a", headers=junk)).status_code == 401
        officer = auth(["county_officer"])
        assert (await client.get("/records/a", headers=officer)).status_code == 200
        hidden = await client.get("/records/b", headers=officer)
        missing = await client.get("/records/zzz", headers=officer)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()  # indistinguishable from a record that does not exist


def test_dev_keys_persist_rotate_and_retire(tmp_path: Path) -> None:
    a = DevKeys.load_or_create(tmp_path)
    b = DevKeys.load_or_create(tmp_path)
    assert a.public_pem() == b.public_pem()
    assert a.kid == b.kid
    assert (tmp_path / "jwt-dev-private.pem").stat().st_mode & 0o777 == 0o600
    old_kid = a.kid
    new_kid = a.rotate()
    a.save(tmp_path)
    c = DevKeys.load_or_create(tmp_path)
    assert c.kid == new_kid
    assert [k["kid"] for k in c.jwks()["keys"]] == [new_kid, old_kid]
    with pytest.raises(ValueError, match="signing key"):
        c.retire(new_kid)
    c.retire(old_kid)
    c.save(tmp_path)
    assert [k["kid"] for k in DevKeys.load_or_create(tmp_path).jwks()["keys"]] == [new_kid]
    with pytest.raises(ValueError, match="no published key"):
        c.retire(old_kid)


def test_a_folder_from_before_the_jwks_gains_one(tmp_path: Path) -> None:
    keys = DevKeys.load_or_create(tmp_path)
    (tmp_path / "jwks.json").unlink()
    assert DevKeys.load_or_create(tmp_path).kid == keys.kid
    assert json.loads((tmp_path / "jwks.json").read_text()) == keys.jwks()


def test_the_kid_is_the_rfc_7638_thumbprint() -> None:
    # RFC 8037, appendix A.1 (the key) and A.3 (its thumbprint).
    d = base64.urlsafe_b64decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
    keys = DevKeys(Ed25519PrivateKey.from_private_bytes(d))
    assert keys.jwk()["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert keys.kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
