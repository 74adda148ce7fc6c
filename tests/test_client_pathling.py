"""Pathling's terminology functions (`member_of`, `display`) against `ipg-validator serve`, replayed without Java.

What is replayed here is what Pathling 9.4.0 was observed sending (tests/test_interop_pathling.py runs
the real one and checks its requests): every call a GET through HAPI's generic client with
`User-Agent: pathling/<version>+<build>` and, when `accept_language` is set or display() is given a
language, `Accept-Language`. `member_of(coding, url)` is GET ValueSet/$validate-code with url, system,
code and, for a coding with a version, systemVersion; it reads `result`, and any 4xx answer counts as
false. `display(coding)` is GET CodeSystem/$lookup with system, code[, version] and property=display.
"""

from __future__ import annotations

from typing import Any

import pytest

from conftest import DIAGNOSES, ICD10_UK, OPCS4, PROCEDURES, VS_BASE
from support.hapi import GenericClient, fhir_json, parameters, values

PATHLING_USER_AGENT = "pathling/9.4.0+1bfd049"  # as observed
DIAGNOSES_CODES = [*(f"C18.{n}" for n in range(10)), "C19", "C20", "C78.7", "Z85.0"]


@pytest.fixture
def pathling(fhir_base: str) -> GenericClient:
    return GenericClient(fhir_base, PATHLING_USER_AGENT)


def member_of(client: GenericClient, system: str | None, code: str | None, value_set: str, version: str | None = None) -> bool:
    """ValidateCodeExecutor: false without a call for a coding lacking system or code; false on any 4xx."""
    if system is None or code is None:
        return False
    params = [("url", "valueUri", value_set), ("system", "valueUri", system), ("code", "valueCode", code)]
    params += [("systemVersion", "valueString", version)] if version else []
    response = client.operation_get("ValueSet", "$validate-code", params)
    if response.status_code // 100 == 4:
        return False
    result = values(parameters(response), "result")
    assert len(result) == 1
    return result[0] == "true"  # Parameters.getParameterBool("result")


def display(client: GenericClient, system: str, code: str, version: str | None = None) -> str | None:
    """DisplayUdf: $lookup asking for the `display` property; a top-level `display` parameter counts as that property."""
    params = [("system", "valueUri", system), ("code", "valueCode", code)]
    params += [("version", "valueString", version)] if version else []
    params += [("property", "valueCode", "display")]
    answer: dict[str, Any] = parameters(client.operation_get("CodeSystem", "$lookup", params))
    found = values(answer, "display")
    return found[0] if found else None


@pytest.mark.parametrize("code", DIAGNOSES_CODES)
def test_diagnoses_members(pathling: GenericClient, code: str) -> None:
    assert member_of(pathling, ICD10_UK, code, DIAGNOSES)


@pytest.mark.parametrize(("system", "code"), [(ICD10_UK, "C18"), (ICD10_UK, "C21.0"), (ICD10_UK, "C78.8"), (OPCS4, "C78.7")])
def test_diagnoses_non_members(pathling: GenericClient, system: str, code: str) -> None:
    """A bare category, codes beside the set, and the same code string in OPCS-4 are not members."""
    assert not member_of(pathling, system, code, DIAGNOSES)


def test_procedures(pathling: GenericClient) -> None:
    assert member_of(pathling, OPCS4, "J12.3", PROCEDURES)
    assert member_of(pathling, OPCS4, "X65.3", PROCEDURES)
    assert not member_of(pathling, OPCS4, "J12.4", PROCEDURES)
    assert not member_of(pathling, ICD10_UK, "J12.3", PROCEDURES)


def test_versioned_coding(pathling: GenericClient) -> None:
    assert member_of(pathling, OPCS4, "J12.3", PROCEDURES, version="4.11")
    assert member_of(pathling, ICD10_UK, "C78.7", DIAGNOSES, version="5.0")
    assert not member_of(pathling, OPCS4, "J12.3", PROCEDURES, version="4.2")


def test_incomplete_coding_needs_no_call(pathling: GenericClient) -> None:
    assert not member_of(pathling, None, "J12.3", PROCEDURES)
    assert not member_of(pathling, OPCS4, None, PROCEDURES)


def test_unknown_system_is_not_a_member(pathling: GenericClient) -> None:
    assert not member_of(pathling, "http://example.org/fhir/CodeSystem/not-served-here", "J12.3", PROCEDURES)


def test_unknown_value_set_is_a_404(pathling: GenericClient) -> None:
    """A 404 that names the ValueSet; Pathling itself turns it into a silent false (docs/clients.md)."""
    params = [("url", "valueUri", VS_BASE + "not-served-here"), ("system", "valueUri", OPCS4), ("code", "valueCode", "J12.3")]
    body = fhir_json(pathling.operation_get("ValueSet", "$validate-code", params), 404)
    assert body["resourceType"] == "OperationOutcome"
    assert VS_BASE + "not-served-here" in body["issue"][0]["details"]["text"]
    assert not member_of(pathling, OPCS4, "J12.3", VS_BASE + "not-served-here")


@pytest.mark.parametrize("accept_language", [None, "en-GB", "en"])
def test_accept_language_header(fhir_base: str, accept_language: str | None) -> None:
    """`terminology.acceptLanguage` adds an Accept-Language header to every request."""
    client = GenericClient(fhir_base, PATHLING_USER_AGENT, {"Accept-Language": accept_language} if accept_language else None)
    assert member_of(client, OPCS4, "J12.3", PROCEDURES)
    assert display(client, OPCS4, "J12.3") == "Selective internal radiotherapy with microspheres to lesion of liver"


def test_display(pathling: GenericClient) -> None:
    assert display(pathling, ICD10_UK, "C78.7") == "Secondary malignant neoplasm of liver and intrahepatic bile duct"
    assert display(pathling, ICD10_UK, "Z85.0", version="5.0") == "Personal history of malignant neoplasm of digestive organs"
