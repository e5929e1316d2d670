"""The device-session routes document what they answer: their models, 401 and 404."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.stores.memory import MemoryStore
from litestar.testing import TestClient

from litestar_jwtsession import DeviceSessionsController, JWTSessionPlugin
from tests.stores.common import make_configs


class Devices(DeviceSessionsController):
    path = "/api/sessions"


def _schema() -> dict[str, Any]:
    access, refresh, _ = make_configs()
    app = Litestar([Devices], plugins=[JWTSessionPlugin(access=access, refresh=refresh, store=MemoryStore())])
    with TestClient(app) as http:
        response = http.get("/schema/openapi.json")
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]


def test_every_route_documents_its_401_with_the_challenge() -> None:
    paths = _schema()["paths"]
    operations = [
        paths["/api/sessions"]["get"],
        paths["/api/sessions/{device_id}"]["delete"],
        paths["/api/sessions/revoke-others"]["post"],
    ]
    for operation in operations:
        assert operation["summary"]
        assert operation["security"]
        unauthorized = operation["responses"]["401"]
        assert "WWW-Authenticate" in unauthorized["headers"]
    assert "404" in paths["/api/sessions/{device_id}"]["delete"]["responses"]
    assert "204" in paths["/api/sessions/{device_id}"]["delete"]["responses"]


def test_the_models_are_documented_in_camel_case() -> None:
    schema = _schema()
    listed = schema["paths"]["/api/sessions"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    assert listed["type"] == "array"
    name = listed["items"]["$ref"].rsplit("/", 1)[1]
    device = schema["components"]["schemas"][name]
    assert set(device["properties"]) == {"id", "label", "createdAt", "lastRefreshedAt", "current"}
    assert set(device["required"]) == {"id", "label", "createdAt", "lastRefreshedAt"}
    revoked = schema["paths"]["/api/sessions/revoke-others"]["post"]["responses"]["200"]["content"]
    reference = revoked["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][reference]["properties"] == {"revoked": {"type": "integer"}}
