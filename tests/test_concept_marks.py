"""Concept marks the suites read from code systems and supplements: deprecated concepts and designations,
label/order/weight extensions as expansion properties, supplements in $lookup, a supplement named as a
system, too-costly expansions and circular imports (Python API and HTTP)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from conformance.r4 import to_r5
from ipg_validator.content.index import ContentIndex
from ipg_validator.core.limits import Limits
from ipg_validator.server import create_app
from ipg_validator.core.results import Coding
from ipg_validator.terminology.sources import RequestResources, SourceChain
from ipg_validator.terminology.validate import validate_code

SYSTEM = "http://example.org/fhir/CodeSystem/marked"
SUPPLEMENT = "http://example.org/fhir/CodeSystem/marked-supplement"
SD = "http://hl7.org/fhir/StructureDefinition/"
FHIR = {"content-type": "application/fhir+json"}

CODE_SYSTEM = {
    "resourceType": "CodeSystem", "url": SYSTEM, "status": "active", "content": "complete", "language": "en",
    "concept": [
        {"code": "one", "display": "One", "extension": [{"url": f"{SD}codesystem-conceptOrder", "valueInteger": 2}],
         "designation": [{"language": "de", "value": "Alte Eins",
                          "extension": [{"url": f"{SD}structuredefinition-standards-status", "valueCode": "withdrawn"}]}]},
        {"code": "two", "display": "Two",
         "extension": [{"url": f"{SD}codesystem-conceptOrder", "valueInteger": 1},
                       {"url": f"{SD}structuredefinition-standards-status", "valueCode": "deprecated"},
                       {"url": f"{SD}rendering-style", "valueString": "font-weight: bold"}]},
    ],
}
SUPPLEMENT_CS = {
    "resourceType": "CodeSystem", "url": SUPPLEMENT, "version": "1.0", "status": "active", "content": "supplement",
    "supplements": SYSTEM, "language": "en",
    "concept": [{"code": "one", "designation": [{"language": "nl", "value": "een"}],
                 "extension": [{"url": f"{SD}codesystem-label", "valueString": "i."}, {"url": f"{SD}itemWeight", "valueDecimal": 1.5}]}],
}
ALL = {"resourceType": "ValueSet", "url": "http://example.org/fhir/ValueSet/marked", "status": "active",
       "compose": {"include": [{"system": SYSTEM}]}}


def sources() -> SourceChain:
    return SourceChain([RequestResources([CODE_SYSTEM, SUPPLEMENT_CS])])


def post(client: TestClient, operation: str, *params: dict[str, Any]) -> Any:
    body = {"resourceType": "Parameters",
            "parameter": [*params, *({"name": "tx-resource", "resource": r} for r in (CODE_SYSTEM, SUPPLEMENT_CS))]}
    return client.post(f"/fhir/{operation}", content=json.dumps(body), headers=FHIR)


def named(answer: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [p for p in answer["parameter"] if p["name"] == name]


def test_a_deprecated_concept_is_valid_with_a_warning_and_its_status() -> None:
    r = validate_code(sources(), [Coding(system=SYSTEM, code="two")])
    assert r.result is True and r.status == "deprecated"
    assert [(i.severity, i.message_id) for i in r.issues] == [("warning", "DEPRECATED_CONCEPT_FOUND")]


def test_a_display_that_is_only_a_withdrawn_designation_is_a_warning_left_out_of_the_message() -> None:
    r = validate_code(sources(), [Coding(system=SYSTEM, code="one", display="Alte Eins")])
    assert r.result is True
    [issue] = r.issues
    assert issue.message_id == "INACTIVE_DISPLAY_FOUND" and issue.severity == "warning" and not issue.in_message
    assert "The correct display is one of \"One\"" in issue.text


def test_a_supplement_is_not_a_system_to_code_in() -> None:
    r = validate_code(sources(), [Coding(system=SUPPLEMENT, code="one", path="Coding")])
    assert r.result is False and [i.message_id for i in r.issues] == ["CODESYSTEM_CS_NO_SUPPLEMENT"]
    assert r.issues[0].expression == ("Coding.system",)


def test_http_expand_answers_concept_extensions_as_properties(client: TestClient) -> None:
    response = post(client, "ValueSet/$expand", {"name": "valueSet", "resource": ALL},
                    {"name": "useSupplement", "valueCanonical": SUPPLEMENT})
    assert response.status_code == 200
    expansion = to_r5(response.json())["expansion"]  # R5 elements, read from their R4 extensions
    assert [d["code"] for d in expansion["property"]] == ["weight", "label", "order", "status"]
    one, two = expansion["contains"]
    assert one["property"] == [{"code": "label", "valueString": "i."}, {"code": "order", "valueDecimal": 2},
                               {"code": "weight", "valueDecimal": 1.5}]
    assert two["property"] == [{"code": "order", "valueDecimal": 1}, {"code": "status", "valueCode": "deprecated"}]
    assert two["extension"] == [{"url": f"{SD}rendering-style", "valueString": "font-weight: bold"}]


def test_http_lookup_lists_the_display_designation_and_the_supplement_sources(client: TestClient) -> None:
    answer = post(client, "CodeSystem/$lookup", {"name": "system", "valueUri": SYSTEM}, {"name": "code", "valueCode": "one"},
                  {"name": "useSupplement", "valueCanonical": SUPPLEMENT}).json()
    designations = [{p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in d["part"]} for d in named(answer, "designation")]
    assert [d["value"] for d in designations] == ["Alte Eins", "One", "een"]
    assert designations[1]["use"]["code"] == "preferredForLanguage" and designations[1]["language"] == "en"
    assert designations[2]["source"] == f"{SUPPLEMENT}|1.0" and "source" not in designations[0]
    assert named(answer, "used-supplement") == [{"name": "used-supplement", "valueCanonical": f"{SUPPLEMENT}|1.0"}]


def test_http_expand_without_count_over_the_default_page_is_too_costly(index: ContentIndex) -> None:
    with TestClient(create_app(index, limits=Limits(default_expansion_count=1), warm_up=False)) as small:
        refused = post(small, "ValueSet/$expand", {"name": "valueSet", "resource": ALL})
        assert refused.status_code == 422
        [issue] = refused.json()["issue"]
        assert issue["extension"][0]["valueString"] == "VALUESET_TOO_COSTLY" and "(>1)" in issue["details"]["text"]
        paged = post(small, "ValueSet/$expand", {"name": "valueSet", "resource": ALL}, {"name": "count", "valueInteger": 1})
        assert paged.status_code == 200 and paged.json()["expansion"]["total"] == 2


def test_http_validate_code_refuses_a_value_set_whose_excludes_import_it_back(client: TestClient) -> None:
    one = {"resourceType": "ValueSet", "url": "http://example.org/fhir/ValueSet/circle-1", "status": "active",
           "compose": {"include": [{"system": SYSTEM}, {"valueSet": ["http://example.org/fhir/ValueSet/circle-2"]}]}}
    two = {"resourceType": "ValueSet", "url": "http://example.org/fhir/ValueSet/circle-2", "status": "active",
           "compose": {"include": [{"system": SYSTEM}], "exclude": [{"valueSet": ["http://example.org/fhir/ValueSet/circle-1"]}]}}
    response = post(client, "ValueSet/$validate-code", {"name": "url", "valueUri": one["url"]},
                    {"name": "coding", "valueCoding": {"system": "http://example.org/elsewhere", "code": "x"}},
                    {"name": "tx-resource", "resource": one}, {"name": "tx-resource", "resource": two})
    assert response.status_code == 400
    [issue] = response.json()["issue"]
    assert issue["extension"][0]["valueString"] == "VALUESET_CIRCULAR_REFERENCE" and "circle-1" in issue["details"]["text"]
