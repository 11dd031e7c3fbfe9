import base64
import secrets

import pytest

from wushe.pii import Vault, VaultError


@pytest.fixture
def vault() -> Vault:
    return Vault(secrets.token_bytes(32))


def test_round_trip_and_no_plaintext(vault: Vault) -> None:
    token = vault.encrypt("11010519491231002X", context="sw:1:id_number")
    assert "11010519491231002X" not in token
    assert vault.decrypt(token, context="sw:1:id_number") == "11010519491231002X"
    assert vault.encrypt("x", context="c") != vault.encrypt("x", context="c")  # random nonce


def test_ciphertext_is_bound_to_its_record_and_field(vault: Vault) -> None:
    token = vault.encrypt("13800138000", context="sw:1:phone")
    with pytest.raises(VaultError, match="context"):
        vault.decrypt(token, context="sw:2:phone")
    with pytest.raises(VaultError, match="context or key"):
        Vault(secrets.token_bytes(32)).decrypt(token, context="sw:1:phone")


def test_blind_index_is_stable_keyed_and_normalised(vault: Vault) -> None:
    a = vault.blind_index("id", "11010519491231002x")
    assert a == vault.blind_index("id", " 11010519491231002X ")
    assert a != vault.blind_index("phone", "11010519491231002X")
    assert a != Vault(secrets.token_bytes(32)).blind_index("id", "11010519491231002X")


def test_keys_by_environment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(VaultError, match="required"):
        Vault.for_environment("", "production", dev_dir=tmp_path)
    dev = Vault.for_environment("", "local", dev_dir=tmp_path)
    again = Vault.for_environment("", "local", dev_dir=tmp_path)
    assert again.decrypt(dev.encrypt("x", context="c"), context="c") == "x"
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    assert Vault.for_environment(key, "production").key_id == "k1"
    with pytest.raises(VaultError, match="32 bytes"):
        Vault.from_base64(base64.b64encode(b"short").decode())
