"""Shared pieces of the hostile-input tests (tests/test_hostile_*.py, test_properties_fhir.py, ...).

`HYPOTHESIS_PROFILE=fuzz` (what `make fuzz` sets) runs every property with `FUZZ_FACTOR` times as
many examples, and the heavy cases that `make test` leaves out.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import HealthCheck, settings

FUZZ = os.environ.get("HYPOTHESIS_PROFILE", "") == "fuzz"
FUZZ_FACTOR = int(os.environ.get("IPG_FUZZ_FACTOR", "20"))
FHIR_JSON = "application/fhir+json"
FHIR_JSON_UTF8 = f"{FHIR_JSON}; charset=utf-8"
FHIR_XML_UTF8 = "application/fhir+xml; charset=utf-8"

settings.register_profile("fuzz", deadline=None, max_examples=100 * FUZZ_FACTOR, suppress_health_check=list(HealthCheck))
if FUZZ:
    settings.load_profile("fuzz")


def examples(n: int) -> int:
    """`n` examples for `make test`; FUZZ_FACTOR times as many under `make fuzz`."""
    return n * FUZZ_FACTOR if FUZZ else n


def prop(n: int) -> settings:
    """Settings for one property: `examples(n)`, no deadline, fixtures allowed."""
    return settings(max_examples=examples(n), deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])


def client_for(app: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(app, raise_server_exceptions=False)


def fhir_answer(response: Any, status: int | None = None, resource_type: str | None = None) -> dict[str, Any]:
    """The response as a FHIR resource: FHIR JSON, no traceback, never a 5xx (unless asked), valid R4B."""
    return _answer(response, status, resource_type, FHIR_JSON_UTF8, orjson.loads)


def fhir_xml_answer(response: Any, status: int | None = None, resource_type: str | None = None) -> dict[str, Any]:
    """The response as a FHIR XML resource (its JSON form): FHIR XML, no traceback, never a 5xx (unless asked), valid R4B."""
    from ipg_validator.fhir.xml import parse_xml

    return _answer(response, status, resource_type, FHIR_XML_UTF8, lambda body: parse_xml(body, max_depth=None))


def _answer(response: Any, status: int | None, resource_type: str | None, media: str, read: Any) -> dict[str, Any]:
    if status is not None:
        assert response.status_code == status, (response.status_code, response.text[:2000])
    else:
        assert response.status_code < 500, (response.status_code, response.text[:2000])
    assert response.headers["content-type"] == media, response.headers.get("content-type")
    assert "Traceback" not in response.text and 'File "' not in response.text
    resource = read(response.content)
    if resource_type is not None:
        assert resource["resourceType"] == resource_type, resource
    check_resource(resource)
    return resource


def check_resource(resource: dict[str, Any]) -> None:
    """Parses as the R4B resource it claims to be; an OperationOutcome has issues with text."""
    assert isinstance(resource, dict) and isinstance(resource.get("resourceType"), str)
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    if resource["resourceType"] == "OperationOutcome":
        assert resource["issue"]
        for issue in resource["issue"]:
            assert issue["severity"] in ("fatal", "error", "warning", "information")
            assert issue.get("details", {}).get("text") or issue.get("diagnostics")


def error_outcome(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """An OperationOutcome answering with `status`, its first issue an error (with `code`)."""
    outcome = fhir_answer(response, status, "OperationOutcome")
    first = outcome["issue"][0]
    assert first["severity"] in ("error", "fatal"), outcome
    if code is not None:
        assert first["code"] == code, outcome
    return outcome


def issue_texts(outcome: dict[str, Any]) -> list[str]:
    return [str(i.get("details", {}).get("text") or i.get("diagnostics") or "") for i in outcome.get("issue", [])]


def expressions(outcome: dict[str, Any]) -> list[str]:
    return [e for i in outcome.get("issue", []) for e in i.get("expression", [])]
