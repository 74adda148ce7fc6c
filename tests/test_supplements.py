"""CodeSystem supplements: useSupplement, the valueset-supplement extension, and a missing supplement."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from conformance.r4 import to_r5
from ipg_validator.terminology import messages
from ipg_validator.terminology.sources import RequestResources, SourceChain
from ipg_validator.terminology.supplements import SupplementMissing, required_supplements, with_supplements

SYSTEM = "http://example.org/CodeSystem/colours"
SUPPLEMENT = "http://example.org/CodeSystem/colours-nl"
VS_URL = "http://example.org/ValueSet/colours"
BASE: dict[str, Any] = {"resourceType": "CodeSystem", "url": SYSTEM, "version": "1", "status": "active", "content": "complete",
                        "concept": [{"code": "red", "display": "Red"}, {"code": "blue", "display": "Blue"}]}
SUPP: dict[str, Any] = {"resourceType": "CodeSystem", "url": SUPPLEMENT, "version": "0.2", "status": "active",
                        "content": "supplement", "supplements": SYSTEM, "language": "nl",
                        "property": [{"code": "warmth", "uri": "http://example.org/warmth", "type": "string"}],
                        "concept": [{"code": "red", "designation": [{"value": "Rood"}],
                                     "property": [{"code": "warmth", "valueString": "warm"}]}]}
VALUE_SET: dict[str, Any] = {"resourceType": "ValueSet", "url": VS_URL, "status": "active",
                             "compose": {"include": [{"system": SYSTEM}]}}


def post(client: TestClient, operation: str, *params: dict[str, Any]) -> Any:
    resources = [{"name": "tx-resource", "resource": r} for r in (BASE, SUPP, VALUE_SET)]
    return client.post(f"/fhir/{operation}", json={"resourceType": "Parameters", "parameter": [*params, *resources]})


def test_requested_then_value_set_extension() -> None:
    vs = {**VALUE_SET, "extension": [{"url": messages.VALUESET_SUPPLEMENT, "valueCanonical": "http://x/s"}]}
    assert required_supplements(["http://y/s"], vs) == ["http://y/s", "http://x/s"]
    assert required_supplements([], VALUE_SET) == []


def test_merge_adds_designations_properties_and_declarations() -> None:
    chain, used = with_supplements(SourceChain([RequestResources([BASE, SUPP])]), [SUPPLEMENT])
    cs = chain.code_system(SYSTEM)
    assert used == [f"{SUPPLEMENT}|0.2"] and cs is not None and cs.version == "1"
    red = cs.get("red")
    assert red is not None and red.designations == ({"language": "nl", "value": "Rood"},)
    assert red.value_of("warmth") == "warm"
    assert {p["code"] for p in cs.resource["property"]} == {"warmth"}


def test_missing_supplement_raises() -> None:
    with pytest.raises(SupplementMissing) as caught:
        with_supplements(SourceChain([RequestResources([BASE])]), [SUPPLEMENT])
    assert caught.value.issue.message_id == messages.SUPPLEMENT_MISSING


@pytest.mark.parametrize("operation", ["ValueSet/$expand", "ValueSet/$validate-code", "CodeSystem/$lookup"])
def test_missing_supplement_is_a_4xx(client: TestClient, operation: str) -> None:
    params = [{"name": "url", "valueUri": VS_URL}, {"name": "system", "valueUri": SYSTEM}, {"name": "code", "valueCode": "red"},
              {"name": "useSupplement", "valueCanonical": "http://example.org/CodeSystem/nowhere"}]
    if operation == "ValueSet/$expand":
        params = [params[0], params[3]]
    response = post(client, operation, *params)
    assert response.status_code == 404
    issue = response.json()["issue"][0]
    assert issue["details"]["text"] == "Required supplement not found: http://example.org/CodeSystem/nowhere"
    assert issue["extension"][0]["valueString"] == messages.SUPPLEMENT_MISSING


def test_expand_with_supplement_answers_its_property(client: TestClient) -> None:
    response = post(client, "ValueSet/$expand", {"name": "url", "valueUri": VS_URL},
                    {"name": "useSupplement", "valueCanonical": SUPPLEMENT}, {"name": "property", "valueString": "warmth"})
    exp = to_r5(response.json())["expansion"]  # R5 contains.property, read from its R4 extension
    assert {"name": "used-supplement", "valueUri": f"{SUPPLEMENT}|0.2"} in exp["parameter"]
    red = next(c for c in exp["contains"] if c["code"] == "red")
    assert red["property"] == [{"code": "warmth", "valueString": "warm"}]


def test_value_set_extension_applies_the_supplement_to_validation(client: TestClient) -> None:
    vs = {**VALUE_SET, "url": f"{VS_URL}-nl", "extension": [{"url": messages.VALUESET_SUPPLEMENT, "valueCanonical": SUPPLEMENT}]}
    response = post(client, "ValueSet/$validate-code", {"name": "url", "valueUri": f"{VS_URL}-nl"},
                    {"name": "coding", "valueCoding": {"system": SYSTEM, "code": "red", "display": "Rood"}},
                    {"name": "tx-resource", "resource": vs})
    result = {p["name"]: p.get("valueBoolean") for p in response.json()["parameter"]}
    assert result["result"] is True


def test_lookup_with_supplement_returns_its_designation(client: TestClient) -> None:
    response = post(client, "CodeSystem/$lookup", {"name": "system", "valueUri": SYSTEM}, {"name": "code", "valueCode": "red"},
                    {"name": "useSupplement", "valueCanonical": SUPPLEMENT})
    designations = [p for p in response.json()["parameter"] if p["name"] == "designation"]
    assert any(part.get("valueString") == "Rood" for d in designations for part in d["part"])


def test_a_supplement_of_an_unknown_code_system_is_refused() -> None:
    """Not skipped in silence: the supplement cannot apply, and the answer says which code system is missing."""
    with pytest.raises(SupplementMissing) as caught:
        with_supplements(SourceChain([RequestResources([SUPP])]), [SUPPLEMENT])
    assert SYSTEM in caught.value.issue.text and caught.value.issue.expression == ("useSupplement",)


def test_lookup_lists_only_the_supplements_of_the_system_looked_up(client: TestClient) -> None:
    other = {**BASE, "url": "http://example.org/CodeSystem/other"}
    answer = client.post("/fhir/CodeSystem/$lookup", json={"resourceType": "Parameters", "parameter": [
        {"name": "system", "valueUri": other["url"]}, {"name": "code", "valueCode": "red"},
        {"name": "useSupplement", "valueCanonical": SUPPLEMENT},
        *({"name": "tx-resource", "resource": r} for r in (BASE, SUPP, other))]})
    assert answer.status_code == 200
    assert not [p for p in answer.json()["parameter"] if p["name"] == "used-supplement"]
    assert not [p for p in answer.json()["parameter"] if p["name"] == "designation" and any(x.get("valueString") == "Rood" for x in p["part"])]
