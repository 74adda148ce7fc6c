"""Resources sent with a request (`tx-resource`, `conceptMap`, supplements) whose elements have the wrong
JSON type: a clear 4xx naming the element, or the element read as absent, never a 500 or an invalid answer."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from conformance.r4 import to_r5

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
    # FHIR has no empty strings: an empty target code would come back as the translation's code
    ({"group": [{"source": CS_URL, "target": TARGET, "element": [{"code": "a", "target": [{"code": "", "equivalence": "equivalent"}]}]}]},
     "ConceptMap.group[0].element[0].target[0].code"),
    ({"group": [{"source": CS_URL, "target": TARGET, "element": [{"code": "a", "target": [{"code": "  "}]}]}]},
     "ConceptMap.group[0].element[0].target[0].code"),
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


# -- CodeSystems: a designation language that is not a string is no language ----------------------

def code_system(**changes: Any) -> dict[str, Any]:
    concept = {"code": "a", "display": "Apple", "designation": [{"language": 5, "value": "Apfel"}, {"language": "fr", "value": "Pomme"}]}
    return {"resourceType": "CodeSystem", "url": CS_URL, "version": "1", "status": "active", "content": "complete",
            "property": [{"code": "colour", "type": "code"}], "concept": [concept], **changes}


VALUE_SET = {"resourceType": "ValueSet", "url": VS_URL, "status": "active", "compose": {"include": [{"system": CS_URL}]}}
GERMAN = {"name": "displayLanguage", "valueCode": "de"}
CODE_A = ({"name": "code", "valueCode": "a"}, {"name": "system", "valueUri": CS_URL})


def value_of(parameters: dict[str, Any], name: str) -> Any:
    found = next(p for p in parameters["parameter"] if p["name"] == name)
    return next(v for k, v in found.items() if k.startswith("value"))


def test_validate_code_reads_a_designation_language_that_is_not_a_string_as_none(client: TestClient) -> None:
    response = post(client, "ValueSet/$validate-code", tx(code_system()), tx(VALUE_SET), {"name": "url", "valueUri": VS_URL},
                    *CODE_A, {"name": "display", "valueString": "Apfel"}, GERMAN)
    answer = fhir_answer(response, 200, "Parameters")
    assert value_of(answer, "result") is True  # a display in no known language is valid for any language


def test_lookup_reads_a_designation_language_that_is_not_a_string_as_none(client: TestClient) -> None:
    answer = fhir_answer(post(client, "CodeSystem/$lookup", tx(code_system()), *CODE_A, GERMAN), 200, "Parameters")
    assert value_of(answer, "display") == "Apple"
    designations = [{p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in d["part"]}
                    for d in answer["parameter"] if d["name"] == "designation"]
    assert {"value": "Apfel"} in designations  # kept, without the language it does not have


def test_expand_reads_a_designation_language_that_is_not_a_string_as_none(client: TestClient) -> None:
    response = post(client, "ValueSet/$expand", tx(code_system()), tx(VALUE_SET), {"name": "url", "valueUri": VS_URL}, GERMAN,
                    {"name": "includeDesignations", "valueBoolean": True})
    contains = fhir_answer(response, 200, "ValueSet")["expansion"]["contains"]
    assert [c["code"] for c in contains] == ["a"]
    assert {"value": "Apfel"} in contains[0]["designation"]
    assert all(isinstance(d.get("language", ""), str) for d in contains[0]["designation"])


# -- CodeSystems and supplements: array items that are not objects are skipped ---------------------

@pytest.mark.parametrize("changes", [
    {"property": ["x"]},
    {"concept": [{"code": "a", "display": "Apple", "property": ["x", {"code": "colour", "valueCode": "red"}]}]},
    {"concept": ["x", {"code": "a", "display": "Apple", "designation": ["x"]}]},
])
def test_lookup_skips_code_system_items_that_are_not_objects(client: TestClient, changes: dict[str, Any]) -> None:
    answer = fhir_answer(post(client, "CodeSystem/$lookup", tx(code_system(**changes)), *CODE_A), 200, "Parameters")
    assert value_of(answer, "display") == "Apple"


def test_expand_skips_declared_properties_that_are_not_objects(client: TestClient) -> None:
    response = post(client, "ValueSet/$expand", tx(code_system(property=["x", {"code": "colour", "type": "code"}])), tx(VALUE_SET),
                    {"name": "url", "valueUri": VS_URL}, {"name": "property", "valueString": "colour"})
    assert response.status_code == 200, response.text  # (expansion.property is the R5 element tx clients read)
    assert to_r5(response.json())["expansion"]["property"] == [{"code": "colour"}]  # the R5 element, read from its R4 extension
    assert [c["code"] for c in response.json()["expansion"]["contains"]] == ["a"]


def test_a_supplement_with_property_items_that_are_not_objects_is_merged_without_them(client: TestClient) -> None:
    supplement = {"resourceType": "CodeSystem", "url": "http://example.org/supplement", "version": "1", "status": "active",
                  "content": "supplement", "supplements": CS_URL, "property": ["x", {"code": "size", "type": "string"}],
                  "concept": [{"code": "a", "property": ["y", {"code": "size", "valueString": "big"}]}]}
    response = post(client, "CodeSystem/$lookup", tx(code_system()), tx(supplement), *CODE_A,
                    {"name": "useSupplement", "valueCanonical": "http://example.org/supplement"})
    answer = fhir_answer(response, 200, "Parameters")
    properties = {p["part"][0]["valueCode"]: p["part"][1] for p in answer["parameter"] if p["name"] == "property"}
    assert properties["size"] == {"name": "value", "valueString": "big"}


# -- $lookup: a property value is typed by its declaration only when it fits it --------------------

@pytest.mark.parametrize("value,declared,expected", [
    ({"valueBoolean": False}, "code", {"valueBoolean": False}),
    ({"valueInteger": 3}, "code", {"valueInteger": 3}),
    ({"valueCode": "red"}, "code", {"valueCode": "red"}),
    ({"valueString": "yes"}, "boolean", {"valueCode": "yes"}),
    ({"valueBoolean": True}, "integer", {"valueBoolean": True}),
])
def test_lookup_types_a_property_by_its_declaration_only_when_the_value_fits(client: TestClient, value: dict[str, Any], declared: str,
                                                                               expected: dict[str, Any]) -> None:
    cs = code_system(property=[{"code": "colour", "type": declared}],
                     concept=[{"code": "a", "display": "Apple", "property": [{"code": "colour", **value}]}])
    answer = fhir_answer(post(client, "CodeSystem/$lookup", tx(cs), *CODE_A), 200, "Parameters")
    colour = next(p for p in answer["parameter"] if p["name"] == "property" and p["part"][0]["valueCode"] == "colour")
    assert colour["part"][1] == {"name": "value", **expected}


# -- any JSON value in any field: never a 5xx, and a 200 is valid R4B -----------------------------

import copy  # noqa: E402

from hypothesis import given, strategies as st  # noqa: E402

from fuzz import check_resource, prop  # noqa: E402

JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4),
                    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2), max_leaves=4)
FIELDS = [  # (resource, path)
    ("cs", ("version",)), ("cs", ("language",)), ("cs", ("property",)), ("cs", ("property", 0)), ("cs", ("property", 0, "type")),
    ("cs", ("concept",)), ("cs", ("concept", 0)), ("cs", ("concept", 0, "display")), ("cs", ("concept", 0, "designation")),
    ("cs", ("concept", 0, "designation", 0)), ("cs", ("concept", 0, "designation", 0, "language")),
    ("cs", ("concept", 0, "designation", 0, "use")), ("cs", ("concept", 0, "property", 0)),
    ("cs", ("concept", 0, "property", 0, "valueCode")), ("vs", ("compose", "include", 0, "concept")),
    ("cm", ("sourceUri",)), ("cm", ("group", 0, "source")), ("cm", ("group", 0, "target")), ("cm", ("group", 0, "element", 0, "display")),
    ("cm", ("group", 0, "element", 0, "target", 0, "code")), ("cm", ("group", 0, "element", 0, "target", 0, "equivalence")),
]
OPERATIONS = [
    ("ValueSet/$validate-code", [{"name": "url", "valueUri": VS_URL}, *CODE_A, {"name": "display", "valueString": "Apfel"}, GERMAN]),
    ("ValueSet/$expand", [{"name": "url", "valueUri": VS_URL}, GERMAN, {"name": "includeDesignations", "valueBoolean": True}]),
    ("CodeSystem/$lookup", [*CODE_A, GERMAN]),
    ("ConceptMap/$translate", [*TRANSLATE_A, {"name": "source", "valueUri": VS_URL}]),
]


def _put(resource: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    at: Any = resource
    for step in path[:-1]:
        at = at[step]
    at[path[-1]] = value


@prop(60)
@given(field=st.sampled_from(FIELDS), value=JSON, operation=st.sampled_from(OPERATIONS))
def test_any_json_in_a_supplied_resource_field_is_answered_without_a_server_error(
        client: TestClient, field: tuple[str, tuple[Any, ...]], value: Any, operation: tuple[str, list[dict[str, Any]]]) -> None:
    resources = {"cs": code_system(), "vs": copy.deepcopy(VALUE_SET), "cm": concept_map()}
    resources["cs"]["concept"][0]["property"] = [{"code": "colour", "valueCode": "red"}]
    resources["vs"]["compose"]["include"][0]["concept"] = [{"code": "a"}]
    _put(resources[field[0]], field[1], value)
    path, params = operation
    response = post(client, path, *(tx(r) for r in resources.values()), *params)
    assert response.status_code < 500, response.text[:1000]
    if response.status_code == 200:
        answer = response.json()
        answer.get("expansion", {}).pop("property", None)  # the R5 element tx clients read (not in R4B)
        check_resource(answer)


# --- white space around a judged code: the HL7 validator (-tx) sends the code as the resource holds it ----------

OPCS4_SYSTEM = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
PROCEDURES_VS = "https://ipg-validator.org/fhir/ValueSet/ipg672-procedures"


@pytest.mark.parametrize("subject", [
    [{"name": "code", "valueCode": " Y53.4 "}, {"name": "system", "valueUri": OPCS4_SYSTEM}],
    [{"name": "coding", "valueCoding": {"system": OPCS4_SYSTEM, "code": " Y53.4 "}}],
    [{"name": "codeableConcept", "valueCodeableConcept": {"coding": [{"system": OPCS4_SYSTEM, "code": " Y53.4 "}]}}],
], ids=["code", "coding", "codeableConcept"])
def test_white_space_around_a_posted_code_is_judged_not_refused(client: TestClient, subject: list[dict[str, Any]]) -> None:
    """As in a query: the code is read as Y53.4 with an NHS-format warning, where a 400 made the client report
    'could not confirm' (HL7 validator 7.0.6 on examples/sirt-nhs-formats)."""
    response = post(client, "ValueSet/$validate-code", {"name": "url", "valueUri": PROCEDURES_VS}, *subject).json()
    assert response["resourceType"] == "Parameters", response
    assert value_of(response, "result") is True
    issues = next(p["resource"] for p in response["parameter"] if p["name"] == "issues")["issue"]
    assert [(i["severity"], i["details"]["coding"][0]["code"]) for i in issues] == [("warning", "code-rule")]
    assert "white space removed" in value_of(response, "message") and "send 'Y53.4'" in value_of(response, "message")


def test_a_posted_code_of_white_space_only_is_still_a_structure_error(client: TestClient) -> None:
    answer = client.post("/fhir/ValueSet/$validate-code", content=P({"name": "url", "valueUri": PROCEDURES_VS},
                                                                   {"name": "code", "valueCode": "  "}, {"name": "system", "valueUri": OPCS4_SYSTEM}),
                         headers={"Content-Type": "application/fhir+json"})
    assert answer.status_code == 400
    issue = answer.json()["issue"][0]
    assert issue["code"] == "structure" and issue["expression"] == ["Parameters.parameter[1].valueCode"]


def test_made_up_resource_types_leave_no_trace_in_the_model_cache(client: TestClient) -> None:
    """The model cache holds FHIR's own resource types only: a client sending 2,000 invented types grows nothing."""
    from ipg_validator.core import models

    assert models.model_class("Procedure") is not None and models.model_class("Coding") is None
    before = dict(models._MODELS)
    for n in range(2000):
        assert models.model_class(f"Invented{n}") is None and models.required_elements(f"Invented{n}") == ()
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": f"Made{n}Up"}} for n in range(50)]}
    assert client.post("/fhir/Bundle/$validate", json=bundle).status_code == 200
    assert models._MODELS.keys() - before.keys() <= {"Bundle", "OperationOutcome", "Parameters"}
    assert all(not name.startswith(("Invented", "Made")) for name in [*models._MODELS, *models._REQUIRED])
