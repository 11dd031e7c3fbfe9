import base64
import hashlib
import hmac
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from wushe.auth import CurrentPrincipal, DevKeys, Principal, TokenError, TokenVerifier


@pytest.fixture(scope="module")
def keys() -> DevKeys:
    return DevKeys.generate()


def test_issued_token_verifies_with_scope_and_roles(keys: DevKeys) -> None:
    token = keys.issue(subject="u1", region_scope="360100", roles=["operator"])
    p = keys.verifier().verify(token)
    assert p == Principal("u1", "3601", frozenset({"operator"}))
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


def _b64(obj: dict) -> str:  # type: ignore[type-arg]
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_alg_none_is_rejected(keys: DevKeys) -> None:
    claims = valid_claims()
    token = _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + "."
    with pytest.raises(TokenError):
        keys.verifier().verify(token)


def test_hs256_signed_with_the_public_key_is_rejected(keys: DevKeys) -> None:
    claims = valid_claims()
    # The classic confusion attack: HMAC-sign with the public key as the secret. PyJWT
    # refuses to produce such a token, so sign it by hand.
    signing_input = _b64({"alg": "HS256", "typ": "JWT"}) + "." + _b64(claims)
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
    claims = valid_claims(**override)
    token = jwt.encode(claims, keys._private, algorithm="EdDSA")
    with pytest.raises(TokenError, match=reason):
        keys.verifier().verify(token)


def test_token_from_another_key_is_rejected(keys: DevKeys) -> None:
    other = DevKeys(Ed25519PrivateKey.generate())
    with pytest.raises(TokenError, match="Signature"):
        keys.verifier().verify(other.issue(subject="x", region_scope="36"))


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
    verifier = TokenVerifier(
        keys.public_pem(),
        algorithm=keys.ALGORITHM,
        issuer=keys.ISSUER,
        audience=keys.AUDIENCE,
        remembered=2,
    )
    tokens = [keys.issue(subject=f"u{i}", region_scope="36") for i in range(3)]
    for token in tokens:
        verifier.verify(token)
    assert list(verifier._verified) == tokens[1:]  # the oldest forgotten first


async def test_dependency_gives_401_and_out_of_scope_is_404(keys: DevKeys) -> None:
    app = FastAPI()
    app.state.token_verifier = keys.verifier()
    records = {"a": "360102001", "b": "440102001"}

    @app.get("/records/{rid}")
    def get_record(rid: str, who: CurrentPrincipal) -> dict[str, str]:
        who.require_visible(records.get(rid), "record")
        return {"id": rid}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/records/a")).status_code == 401
        junk = {"Authorization": "Bearer junk"}
        assert (await client.get("/records/a", headers=junk)).status_code == 401
        auth = {"Authorization": "Bearer " + keys.issue(subject="u", region_scope="36")}
        assert (await client.get("/records/a", headers=auth)).status_code == 200
        hidden = await client.get("/records/b", headers=auth)
        missing = await client.get("/records/zzz", headers=auth)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()  # indistinguishable from a record that does not exist


def test_dev_keys_persist(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = DevKeys.load_or_create(tmp_path)
    b = DevKeys.load_or_create(tmp_path)
    assert a.public_pem() == b.public_pem()
    assert (tmp_path / "jwt-dev-private.pem").stat().st_mode & 0o777 == 0o600
