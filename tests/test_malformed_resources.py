"""Resources sent with a request (`tx-resource`, `conceptMap`, supplements) whose elements have the wrong
JSON type: a clear 4xx naming the element, or the element read as absent, never a 500 or an invalid answer."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from fuzz import error_outcome, fhir_answer

FHIR = {"content-type": "application/fhir+json"}
CS_URL, VS_URL, TARGET = "http://example.org/cs", "http://example.org/vs", "http://example.org/target"


def P(*params: dict[str, Any]) -> bytes:
    return orjson.dumps({"resourceType": "Parameters", "parameter": list(params)})


def tx(resource: dict[str, Any]) -> dict[str, Any]:
    return {"name": "tx-resource", "resource": resource}


def concept_map(**changes: Any) -> dict[str, Any]:
    group = {"source": CS_URL, "target": TARGET, "element": [{"code": "a", "target": [{"code": "b", "equivalence": "equivalent"}]}]}
    return {"resourceType": "ConceptMap", "url": "http://example.org/cm", "status": "active", "sourceUri": VS_URL,
            "group": [group], **changes}


def post(client: TestClient, path: str, *params: dict[str, Any]) -> Any:
    return client.post(f"/fhir/{path}", content=P(*params), headers=FHIR)


# -- ConceptMap/$translate -----------------------------------------------------------------------

TRANSLATE_A = ({"name": "code", "valueCode": "a"}, {"name": "system", "valueUri": CS_URL})


@pytest.mark.parametrize("changes,path", [
    ({"sourceUri": {"a": 1}}, "ConceptMap.sourceUri"),
    ({"group": [{"source": CS_URL, "target": {"x": 1}, "element": [{"code": "a", "target": [{"code": "b"}]}]}]}, "ConceptMap.group[0].target"),
    ({"group": [{"source": CS_URL, "target": TARGET, "element": [{"code": "a", "target": [{"code": "b", "display": 5}]}]}]},
     "ConceptMap.group[0].element[0].target[0].display"),
    ({"group": [{"source": CS_URL, "target": TARGET, "unmapped": {"mode": "fixed", "code": "z", "display": [1]}}]},
     "ConceptMap.group[0].unmapped.display"),
])
def test_a_concept_map_element_that_is_not_a_string_is_refused_by_name(client: TestClient, changes: dict[str, Any], path: str) -> None:
    response = post(client, "ConceptMap/$translate", tx(concept_map(**changes)), *TRANSLATE_A, {"name": "source", "valueUri": VS_URL})
    issue = error_outcome(response, 400, "structure")["issue"][0]
    assert issue["expression"] == [path]
    assert path in issue["details"]["text"] and "must be a string" in issue["details"]["text"]


def test_a_well_formed_tx_resource_concept_map_still_translates(client: TestClient) -> None:
    response = post(client, "ConceptMap/$translate", tx(concept_map()), *TRANSLATE_A, {"name": "source", "valueUri": VS_URL})
    answer = fhir_answer(response, 200, "Parameters")
    match = next(p for p in answer["parameter"] if p["name"] == "match")
    assert match["part"][0]["valueCoding"] == {"system": TARGET, "code": "b"}
