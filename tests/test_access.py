"""server.access in-process: bearer tokens in constant time, open health endpoints, CORS."""

from __future__ import annotations

import warnings

import pytest
from ipg_validator.content.index import ContentIndex
from ipg_validator.server import create_app
from ipg_validator.server.access import BearerAuth
from ipg_validator.settings import Settings, SettingsError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

LOOKUP = "/fhir/CodeSystem/$lookup?system=http://fhir.hl7.org.uk/CodeSystem/OPCS-4&code=J12.3"


@pytest.fixture(scope="module")
def client(index: ContentIndex) -> TestClient:
    settings = Settings(api_keys=("alpha", "beta"), cors_origins=("https://page.example",))
    return TestClient(create_app(index, settings=settings, warm_up=False), raise_server_exceptions=False)


def test_key_required_on_fhir(client: TestClient) -> None:
    response = client.get(LOOKUP)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="ipg-validator"'
    assert response.json()["issue"][0]["code"] == "login"
    assert client.get(LOOKUP, headers={"Authorization": "Bearer gamma"}).status_code == 401
    assert client.get(LOOKUP, headers={"Authorization": "Basic YWxwaGE6"}).status_code == 401
    assert client.post("/fhir/Bundle/$validate", content=b"{}").status_code == 401
    for key in ("alpha", "beta"):
        assert client.get(LOOKUP, headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert client.get(LOOKUP, headers={"Authorization": f"bearer {key}"}).status_code == 200


def test_open_paths(client: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/fhir/metadata"):
        assert client.get(path).status_code == 200, path


def test_capability_statement_says_how_to_authenticate(client: TestClient, index: ContentIndex) -> None:
    """Clients read /metadata before they have a key: rest.security tells them what to send."""
    [rest] = client.get("/fhir/metadata").json()["rest"]
    assert rest["security"]["cors"] is True
    assert "Authorization: Bearer <key>" in rest["security"]["description"]
    with TestClient(create_app(index, settings=Settings(), warm_up=False)) as open_client:
        [open_rest] = open_client.get("/fhir/metadata").json()["rest"]
    assert "security" not in open_rest


def test_cors_allow_list(client: TestClient) -> None:
    allowed = client.get("/fhir/metadata", headers={"Origin": "https://page.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://page.example"
    assert "X-Request-Id" in allowed.headers["access-control-expose-headers"]
    refused = client.get("/fhir/metadata", headers={"Origin": "https://other.example"})
    assert "access-control-allow-origin" not in refused.headers
    preflight = client.options("/fhir/Bundle/$validate", headers={
        "Origin": "https://page.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "Authorization"})
    assert preflight.status_code == 200  # answered before the key check


def test_no_keys_means_open(index: ContentIndex) -> None:
    client = TestClient(create_app(index, warm_up=False))
    assert client.get(LOOKUP).status_code == 200


def test_constant_time_compare_checks_every_key() -> None:
    auth = BearerAuth(lambda *a: None, ["one", "two", "three"])  # type: ignore[arg-type]
    assert auth.known(b"three") and auth.known(b"one") and not auth.known(b"four") and not auth.known(b"")


def test_keys_from_env_and_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    keys = tmp_path / "keys"
    keys.write_text("# comment\n\n k-file \n", encoding="utf-8")
    settings = Settings.from_env({"IPG_API_KEYS": "a, b,,", "IPG_API_KEYS_FILE": str(keys)})
    assert settings.api_keys == ("a", "b", "k-file")
    assert "k-file" not in repr(settings)
    (tmp_path / "empty").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="holds no keys"):
        Settings.from_env({"IPG_API_KEYS_FILE": str(tmp_path / "empty")})
