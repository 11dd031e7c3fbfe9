"""The committed OpenAPI document matches the code; every route declares a response model.
Regenerate with: WUSHE_UPDATE_OPENAPI=1 ./dev test services/activities -k openapi"""

from pathlib import Path

from activities.app import create_app
from activities.settings import ActivitiesSettings
from wushe.auth import DevKeys
from wushe_dev.testing import check_openapi_snapshot


def test_openapi_document_is_committed_and_current() -> None:
    app = create_app(ActivitiesSettings(), token_verifier=DevKeys.generate().verifier())
    check_openapi_snapshot(app, Path(__file__).parents[1] / "openapi.json")
