"""schemathesis over the app's OpenAPI description (`app.openapi()`, see server.app.fhir_openapi):
every operation, generated path, query and body: never a 5xx, and every answer conforms to the
description (status, FHIR JSON content type, a resource; errors as OperationOutcomes)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from ipg_validator.content.loader import load_content  # noqa: E402
from ipg_validator.server import create_app  # noqa: E402

from fuzz import check_resource, examples  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    APP = create_app(load_content(), warm_up=False)
SCHEMA = schemathesis.openapi.from_dict(APP.openapi())
SCHEMA.app = APP
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def operations() -> list[str]:
    return [f"{method.upper()} {path}" for path, ops in APP.openapi()["paths"].items() for method in ops]


def test_every_fhir_route_is_described() -> None:
    described = operations()
    assert len(described) >= 26
    assert "POST /fhir/Bundle/$validate" in described and "GET /fhir/ValueSet/$expand" in described


@SCHEMA.parametrize()
@settings(max_examples=examples(15), deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case: Any) -> None:
    response = case.call()
    case.validate_response(response, checks=CHECKS)
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    check_resource(response.json())
