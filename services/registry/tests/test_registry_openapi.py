"""The committed OpenAPI document matches the code (a change to the API is a reviewed diff).
Regenerate with: WUSHE_UPDATE_OPENAPI=1 ./dev test services/registry -k openapi"""

import json
import os
from pathlib import Path

from registry.app import create_app
from registry.settings import RegistrySettings
from wushe.auth import DevKeys

COMMITTED = Path(__file__).parents[1] / "openapi.json"


def test_openapi_document_is_committed_and_current() -> None:
    app = create_app(RegistrySettings(), token_verifier=DevKeys.generate().verifier())
    current = json.dumps(app.openapi(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("WUSHE_UPDATE_OPENAPI") == "1":
        COMMITTED.write_text(current)
    assert COMMITTED.exists(), "no committed openapi.json: run with WUSHE_UPDATE_OPENAPI=1"
    assert COMMITTED.read_text() == current, (
        "the API changed: review it and regenerate with WUSHE_UPDATE_OPENAPI=1"
    )


def test_every_route_declares_a_response_model() -> None:
    app = create_app(RegistrySettings(), token_verifier=DevKeys.generate().verifier())
    spec = app.openapi()
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            ok = op["responses"].get("200") or op["responses"].get("201")
            assert ok is not None, (method, path)
            assert "schema" in ok.get("content", {}).get("application/json", {}), (method, path)
