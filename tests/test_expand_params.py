"""$expand request parameters: property, includeDefinition, activeOnly, excludeNested, and when offset is said."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.valueset import ValueSet
from conformance.r4 import to_r5
from ipg_validator.terminology import messages
from ipg_validator.terminology.expand import expand
from ipg_validator.terminology.sources import RequestResources, SourceChain

SYSTEM = "http://example.org/CodeSystem/shapes"
VS_URL = "http://example.org/ValueSet/shapes"
CODE_SYSTEM: dict[str, Any] = {
    "resourceType": "CodeSystem", "url": SYSTEM, "version": "2", "status": "active", "content": "complete",
    "property": [{"code": "sides", "uri": "http://example.org/properties#sides", "type": "integer"},
                 {"code": "status", "uri": messages.STATUS_PROPERTY_URI, "type": "code"}],
    "concept": [
        {"code": "polygon", "display": "Polygon", "definition": "A closed plane figure",
         "concept": [{"code": "triangle", "display": "Triangle", "definition": "Three sides",
                      "property": [{"code": "sides", "valueInteger": 3}]},
                     {"code": "square", "display": "Square", "property": [{"code": "sides", "valueInteger": 4},
                                                                          {"code": "status", "valueCode": "retired"}]}]},
        {"code": "circle", "display": "Circle", "property": [{"code": "status", "valueCode": "active"}]},
    ],
}
VALUE_SET: dict[str, Any] = {"resourceType": "ValueSet", "url": VS_URL, "version": "1", "status": "active",
                             "compose": {"include": [{"system": SYSTEM}]}}


def run(client: TestClient, *params: dict[str, Any]) -> dict[str, Any]:
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": VS_URL}, *params,
        {"name": "tx-resource", "resource": CODE_SYSTEM}, {"name": "tx-resource", "resource": VALUE_SET}]}
    response = client.post("/fhir/ValueSet/$expand", json=body)
    assert response.status_code == 200, response.text
    ValueSet.model_validate(response.json())  # valid R4: R5-only elements travel in their extensions
    return to_r5(response.json())["expansion"]


def by_code(expansion: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    stack = list(expansion.get("contains", []))
    while stack:
        item = stack.pop()
        out[item["code"]] = item
        stack += item.get("contains", [])
    return out


def test_engine_declares_requested_properties_with_their_type() -> None:
    sources = SourceChain([RequestResources([CODE_SYSTEM])])
    exp = expand(sources, VALUE_SET, properties=["sides", "definition", "unknown"])
    assert [(d.code, d.type) for d in exp.properties] == [("sides", "integer"), ("definition", "string")]
    assert next(i for i in exp.items if i.code == "triangle").definition == "Three sides"


def test_property_is_answered_on_contains_and_declared(client: TestClient) -> None:
    exp = run(client, {"name": "property", "valueString": "sides"}, {"name": "excludeNested", "valueBoolean": True})
    codes = by_code(exp)
    assert codes["triangle"]["property"] == [{"code": "sides", "valueInteger": 3}]
    assert codes["square"]["property"] == [{"code": "sides", "valueInteger": 4}, {"code": "status", "valueCode": "retired"}]
    assert "property" not in codes["polygon"]
    assert exp["property"] == [{"code": "status", "uri": messages.STATUS_PROPERTY_URI},
                               {"code": "sides", "uri": "http://example.org/properties#sides"}]
    assert "property" not in {p["name"] for p in exp["parameter"]}  # declared, not echoed


def test_active_status_is_not_said(client: TestClient) -> None:
    assert "property" not in by_code(run(client))["circle"]


def test_property_definition(client: TestClient) -> None:
    exp = run(client, {"name": "property", "valueString": "definition"})
    assert by_code(exp)["polygon"]["property"] == [{"code": "definition", "valueString": "A closed plane figure"}]
    assert exp["property"][0] == {"code": "definition", "uri": messages.DEFINITION_PROPERTY_URI}


def test_include_definition_keeps_the_value_set_definition(client: TestClient) -> None:
    """includeDefinition (R4 $expand) is about the value set: its compose stays in the answer."""
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": VS_URL}, {"name": "includeDefinition", "valueBoolean": True},
        {"name": "tx-resource", "resource": CODE_SYSTEM}, {"name": "tx-resource", "resource": VALUE_SET}]}
    answer = client.post("/fhir/ValueSet/$expand", json=body).json()
    assert answer["compose"] == VALUE_SET["compose"]
    assert {"name": "includeDefinition", "valueBoolean": True} in answer["expansion"]["parameter"]
    assert "compose" not in client.post("/fhir/ValueSet/$expand", json={**body, "parameter": [body["parameter"][0], *body["parameter"][2:]]}).json()
    assert "property" not in by_code(to_r5(answer)["expansion"])["triangle"]  # a code's definition needs property=definition


def test_properties_travel_in_r5_cross_version_extensions(client: TestClient) -> None:
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": VS_URL}, {"name": "property", "valueString": "sides"}, {"name": "excludeNested", "valueBoolean": True},
        {"name": "tx-resource", "resource": CODE_SYSTEM}, {"name": "tx-resource", "resource": VALUE_SET}]}
    expansion = client.post("/fhir/ValueSet/$expand", json=body).json()["expansion"]
    assert "property" not in expansion
    assert {"url": messages.R5_EXPANSION_PROPERTY, "extension": [
        {"url": "code", "valueCode": "sides"}, {"url": "uri", "valueUri": "http://example.org/properties#sides"}]} in expansion["extension"]
    triangle = next(c for c in expansion["contains"] if c["code"] == "triangle")
    assert "property" not in triangle
    assert triangle["extension"] == [{"url": messages.R5_CONTAINS_PROPERTY, "extension": [
        {"url": "code", "valueCode": "sides"}, {"url": "value", "valueInteger": 3}]}]


def test_active_only_and_exclude_nested_are_echoed_with_their_types(client: TestClient) -> None:
    exp = run(client, {"name": "activeOnly", "valueBoolean": True}, {"name": "excludeNested", "valueBoolean": True})
    assert set(by_code(exp)) == {"polygon", "triangle", "circle"}
    assert all("contains" not in c for c in exp["contains"])
    assert {"name": "activeOnly", "valueBoolean": True} in exp["parameter"]
    assert {"name": "excludeNested", "valueBoolean": True} in exp["parameter"]


def test_nested_unless_excluded(client: TestClient) -> None:
    exp = run(client, {"name": "excludeNested", "valueBoolean": False})
    assert [c["code"] for c in exp["contains"]] == ["polygon", "circle"]
    assert [c["code"] for c in exp["contains"][0]["contains"]] == ["triangle", "square"]


def test_offset_only_for_a_page(client: TestClient) -> None:
    assert "offset" not in run(client)
    paged = run(client, {"name": "offset", "valueInteger": 1}, {"name": "count", "valueInteger": 2})
    assert paged["offset"] == 1 and paged["total"] == 4 and len(paged["contains"]) == 2


def test_mixed_releases_keep_each_release_code() -> None:
    v1 = {**CODE_SYSTEM, "version": "1", "concept": [{"code": "circle", "display": "Round"}]}
    vs = {**VALUE_SET, "compose": {"include": [{"system": SYSTEM, "version": "1"}, {"system": SYSTEM, "version": "2"}]}}
    exp = expand(SourceChain([RequestResources([CODE_SYSTEM, v1])]), vs)
    circles = [(i.version, i.display) for i in exp.items if i.code == "circle"]
    assert circles == [("2", "Circle"), ("1", "Round")] and exp.total == 5  # the newer release first
    excluded = {**vs, "compose": {**vs["compose"], "exclude": [{"system": SYSTEM, "concept": [{"code": "circle"}]}]}}
    assert [i.code for i in expand(SourceChain([RequestResources([CODE_SYSTEM, v1])]), excluded).items].count("circle") == 0


def test_terminology_capabilities_claim_the_parameters(client: TestClient) -> None:
    caps = client.get("/fhir/metadata", params={"mode": "terminology"}).json()
    names = {p["name"] for p in caps["expansion"]["parameter"]}
    assert {"includeDefinition", "property", "useSupplement", "activeOnly", "excludeNested"} <= names
