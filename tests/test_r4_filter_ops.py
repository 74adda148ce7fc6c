"""R5 filter operators sent by R4 clients: `child-of` and `descendent-leaf` on `_op`'s cross-version extension.

R4's FilterOperator has neither, so the HL7 validator's R4 client (org.hl7.fhir.convertors) sends
them as `"_op": {"extension": [{"url": ...filter.op, "valueCode": "child-of"}]}` with no `op`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ipg_validator.terminology.filters import R5_FILTER_OP

CS = "http://example.org/CodeSystem/tree"
VS = "http://example.org/ValueSet/tree-filter"
HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}

TREE: dict[str, Any] = {
    "resourceType": "CodeSystem", "url": CS, "version": "1", "status": "active", "content": "complete",
    "hierarchyMeaning": "is-a",
    "concept": [
        {"code": "A", "display": "A", "concept": [
            {"code": "A1", "display": "A1", "concept": [{"code": "A1a", "display": "A1a"}]},
            {"code": "A2", "display": "A2"},
        ]},
        {"code": "B", "display": "B"},
    ],
}


def r4_value_set(op: str) -> dict[str, Any]:
    """A ValueSet as the R4 client writes a filter whose operator R4 lacks."""
    flt = {"property": "concept", "_op": {"extension": [{"url": R5_FILTER_OP, "valueCode": op}]}, "value": "A"}
    return {"resourceType": "ValueSet", "url": VS, "status": "active",
            "implicitRules": "https://hl7.org/fhir/implicit-rules/omitted-mandatory-interversion-code",
            "compose": {"include": [{"system": CS, "filter": [flt]}]}}


def post(client: TestClient, op: str, params: list[dict[str, Any]]) -> Any:
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": VS}, *params,
        {"name": "tx-resource", "resource": TREE}, {"name": "tx-resource", "resource": r4_value_set(op)}]}
    return client.post(f"/fhir/ValueSet/{'$expand' if not params else '$validate-code'}", content=json.dumps(body), headers=HEADERS)


@pytest.mark.parametrize(("op", "codes"), [("child-of", ["A1", "A2"]), ("descendent-leaf", ["A1a", "A2"])])
def test_expand_reads_the_operator_from_the_r5_extension(client: TestClient, op: str, codes: list[str]) -> None:
    response = post(client, op, [])
    assert response.status_code == 200, response.text
    assert sorted(c["code"] for c in response.json()["expansion"]["contains"]) == codes


@pytest.mark.parametrize(("op", "code", "member"), [
    ("child-of", "A1", True), ("child-of", "A1a", False), ("child-of", "A", False),
    ("descendent-leaf", "A1a", True), ("descendent-leaf", "A1", False), ("descendent-leaf", "B", False),
])
def test_validate_code_reads_the_operator_from_the_r5_extension(client: TestClient, op: str, code: str, member: bool) -> None:
    response = post(client, op, [{"name": "system", "valueUri": CS}, {"name": "code", "valueCode": code}])
    assert response.status_code == 200, response.text
    result = next(p["valueBoolean"] for p in response.json()["parameter"] if p["name"] == "result")
    assert result is member


def test_a_filter_with_neither_op_nor_the_extension_is_still_refused(client: TestClient) -> None:
    vs = r4_value_set("child-of")
    del vs["compose"]["include"][0]["filter"][0]["_op"]
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": VS}, {"name": "tx-resource", "resource": TREE}, {"name": "tx-resource", "resource": vs}]}
    response = client.post("/fhir/ValueSet/$expand", content=json.dumps(body), headers=HEADERS)
    assert response.status_code == 400
    assert "filter operation ''" in response.json()["issue"][0]["details"]["text"]
