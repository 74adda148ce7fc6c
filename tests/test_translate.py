"""ConceptMap/$translate: the engine on R4 and R5 maps, and the operation over HTTP by GET and POST."""

from __future__ import annotations

from typing import Any

import warnings

import pytest
from fhir.resources.R4B.parameters import Parameters

from ipg_validator.content.index import ContentIndex
from ipg_validator.core.errors import FhirError
from ipg_validator.core.limits import Limits
from ipg_validator.fhir.parameters import Params
from ipg_validator.fhir.translate_op import translate_op
from ipg_validator.terminology.translate import MapCoding, TranslateRequest, translate

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SOURCE = "http://example.org/CodeSystem/local-procedures"
TARGET = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
R5_MAP: dict[str, Any] = {
    "resourceType": "ConceptMap", "id": "local-to-opcs", "url": "http://example.org/ConceptMap/local-to-opcs", "version": "2",
    "status": "draft", "sourceScopeUri": "http://example.org/ValueSet/local", "targetScopeUri": "http://example.org/ValueSet/opcs",
    "group": [{"source": SOURCE, "target": TARGET, "element": [
        {"code": "sirt", "display": "SIRT", "target": [{"code": "J12.3", "display": "Selective internal radiotherapy", "relationship": "equivalent"}]},
        {"code": "liver-embolisation", "target": [{"code": "J12.3", "relationship": "source-is-broader-than-target"}]},
        {"code": "angiography", "target": [{"code": "X65.3", "relationship": "source-is-narrower-than-target"}]},
        {"code": "scan", "target": [{"code": "Y53.4", "relationship": "not-related-to"}]},
    ], "unmapped": {"mode": "fixed", "code": "J12.8", "relationship": "related-to"}}],
}
R4_MAP: dict[str, Any] = {
    "resourceType": "ConceptMap", "id": "r4-map", "url": "http://example.org/ConceptMap/r4-map", "status": "draft",
    "sourceUri": "http://example.org/ValueSet/local", "group": [{"source": SOURCE, "target": TARGET, "element": [
        {"code": "sirt", "target": [{"code": "J12.3", "equivalence": "equal"}]},
        {"code": "unknown", "target": [{"equivalence": "unmatched"}]},
    ], "unmapped": {"mode": "provided"}}],
}


def test_forward_lists_each_target_with_its_r4_equivalence() -> None:
    answer = translate([R5_MAP], TranslateRequest("sirt", SOURCE))
    assert answer.result is True and answer.message is None
    [match] = answer.matches
    assert match.concept == MapCoding(TARGET, "J12.3", "Selective internal radiotherapy")
    assert (match.equivalence, match.origin_map, match.source) == ("equivalent", "http://example.org/ConceptMap/local-to-opcs|2", None)
    assert translate([R5_MAP], TranslateRequest("liver-embolisation", SOURCE)).matches[0].equivalence == "narrower"
    assert translate([R5_MAP], TranslateRequest("angiography", SOURCE)).matches[0].equivalence == "wider"


def test_disjoint_and_unmatched_are_returned_but_not_a_result() -> None:
    disjoint = translate([R5_MAP], TranslateRequest("scan", SOURCE))
    assert disjoint.result is False and [m.equivalence for m in disjoint.matches] == ["disjoint"]
    assert "only as unmatched or disjoint" in (disjoint.message or "")
    unmatched = translate([R4_MAP], TranslateRequest("unknown", SOURCE))
    assert unmatched.result is False and [(m.concept.code, m.equivalence) for m in unmatched.matches] == [("unknown", "unmatched")]


def test_unmapped_codes_follow_the_group_rule() -> None:
    fixed = translate([R5_MAP], TranslateRequest("other", SOURCE))
    assert fixed.result is True and [(m.concept.code, m.equivalence) for m in fixed.matches] == [("J12.8", "relatedto")]
    provided = translate([R4_MAP], TranslateRequest("other", SOURCE))
    assert [(m.concept.system, m.concept.code, m.equivalence) for m in provided.matches] == [(TARGET, "other", "equal")]


def test_filters_by_system_target_system_and_scope() -> None:
    assert translate([R5_MAP], TranslateRequest("sirt", "http://other.example/cs")).matches == ()
    assert translate([R5_MAP], TranslateRequest("sirt", SOURCE, target_system="http://other.example/cs")).result is False
    assert translate([R5_MAP], TranslateRequest("sirt", SOURCE, source_scope="http://example.org/ValueSet/local")).result is True
    assert translate([R5_MAP], TranslateRequest("sirt", SOURCE, source_scope="http://example.org/ValueSet/other")).result is False
    assert translate([R4_MAP], TranslateRequest("sirt", SOURCE, source_scope="http://example.org/ValueSet/local|1")).result is True


def test_reverse_finds_every_source_of_a_target() -> None:
    answer = translate([R5_MAP], TranslateRequest("J12.3", TARGET, target_system=SOURCE, reverse=True))
    assert answer.result is True
    assert [(m.concept.code, m.source.code if m.source else None, m.equivalence) for m in answer.matches] == [
        ("J12.3", "sirt", "equivalent"), ("J12.3", "liver-embolisation", "narrower")]
    assert "No translation found to the code 'Z99'" in (translate([R5_MAP], TranslateRequest("Z99", TARGET, reverse=True)).message or "")


def _params(*items: tuple[str, Any]) -> Params:
    return Params(list(items))


def test_operation_reads_r4_and_r5_parameter_names(index: ContentIndex) -> None:
    r4 = translate_op(index, _params(("code", "sirt"), ("system", SOURCE), ("targetsystem", TARGET), ("tx-resource", R5_MAP)))
    r5 = translate_op(index, _params(("sourceCode", "sirt"), ("sourceSystem", SOURCE), ("targetSystem", TARGET), ("tx-resource", R5_MAP)))
    assert r4 == r5
    Parameters.model_validate(r4)
    assert r4["parameter"][0] == {"name": "result", "valueBoolean": True}
    parts = {p["name"]: p for p in r4["parameter"][1]["part"]}
    assert parts["concept"]["valueCoding"]["code"] == "J12.3" and parts["equivalence"]["valueCode"] == "equivalent"
    coding = translate_op(index, _params(("coding", {"system": SOURCE, "code": "sirt"}), ("conceptMap", R5_MAP)))
    assert coding == r4
    reverse = translate_op(index, _params(("targetCode", "J12.3"), ("targetSystem", TARGET), ("sourceSystem", SOURCE), ("tx-resource", R5_MAP)))
    assert [p["part"][-1] for p in reverse["parameter"][1:]][0] == {"name": "source", "valueCoding": {"system": SOURCE, "code": "sirt", "display": "SIRT"}}
    r4_reverse = translate_op(index, _params(("code", "J12.3"), ("system", TARGET), ("reverse", True), ("tx-resource", R5_MAP)))
    assert r4_reverse["parameter"][1:] == reverse["parameter"][1:]


def test_operation_refusals(index: ContentIndex) -> None:
    with pytest.raises(FhirError) as missing:
        translate_op(index, _params(("system", SOURCE), ("tx-resource", R5_MAP)))
    assert missing.value.status == 400
    with pytest.raises(FhirError) as unknown:
        translate_op(index, _params(("url", "http://example.org/ConceptMap/nope"), ("code", "sirt"), ("tx-resource", R5_MAP)))
    assert unknown.value.status == 404
    with pytest.raises(FhirError) as too_many:
        translate_op(index, _params(("code", "sirt"), *[("tx-resource", R5_MAP)] * 3), limits=Limits(max_tx_resources=2))
    assert too_many.value.status == 413


def test_http_get_and_post(client: TestClient) -> None:
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": "http://example.org/ConceptMap/local-to-opcs|2"},
        {"name": "sourceCode", "valueCode": "sirt"}, {"name": "system", "valueUri": SOURCE},
        {"name": "tx-resource", "resource": R5_MAP}]}
    posted = client.post("/fhir/ConceptMap/$translate", json=body, headers={"Content-Type": "application/fhir+json"})
    assert posted.status_code == 200 and posted.json()["parameter"][0]["valueBoolean"] is True
    by_id = client.post("/fhir/ConceptMap/local-to-opcs/$translate", json=body, headers={"Content-Type": "application/fhir+json"})
    assert by_id.json() == posted.json()
    none = client.get("/fhir/ConceptMap/$translate", params={"code": "sirt", "system": SOURCE})
    assert none.status_code == 200 and none.json()["parameter"][0] == {"name": "result", "valueBoolean": False}
    missing = client.get("/fhir/ConceptMap/nope/$translate", params={"code": "sirt"})
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    statement = client.get("/fhir/metadata").json()
    [concept_map] = [r for r in statement["rest"][0]["resource"] if r["type"] == "ConceptMap"]
    assert concept_map["operation"][0]["name"] == "translate"
