"""fhir.xml: FHIR XML read into its JSON form and written back, checked against fhir.resources' own XML.

The reader and writer follow the R4B model definitions; these tests hold them to fhir.resources'
`model_validate_xml` / `model_dump_xml` where a model can carry the resource, and to an exact
round trip where it cannot (invalid content, primitive extensions, cross-version extensions).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from conformance.runner import tests_dir as conformance_tests_dir
from conformance.runner import xml_names_only
from ipg_validator.core.errors import FhirError
from ipg_validator.fhir.structure import check_structure
from ipg_validator.fhir.xml import XmlWriteError, dump_xml, parse_xml
from conftest import ROOT

EXAMPLES = sorted(p for p in (ROOT / "guidance" / "ipg672" / "examples").glob("*.json") if not p.name.endswith(".expected.json"))
TX_TESTS = conformance_tests_dir()
CROSS_VERSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property"


def load(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def roundtrip(resource: dict[str, Any]) -> dict[str, Any]:
    return parse_xml(dump_xml(resource), max_depth=None)


def without_empty(value: Any) -> Any:
    """`value` without empty arrays and objects: what FHIR JSON forbids and XML has no form for (empty-elements.json)."""
    if isinstance(value, dict):
        kept = {k: without_empty(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [without_empty(v) for v in value]
    return value


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_round_trip_exactly(path: Path) -> None:
    resource = load(path)
    assert roundtrip(resource) == without_empty(resource)
    assert parse_xml(dump_xml(resource, pretty=True)) == without_empty(resource)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_agree_with_fhir_resources_xml(path: Path) -> None:
    """Where the R4B model takes the example: fhir.resources reads our XML as the JSON, and we read its XML as the JSON."""
    resource = without_empty(load(path))
    cls = get_fhir_model_class(resource["resourceType"])
    try:
        model = cls.model_validate(resource)
    except ValidationError:
        # the example is invalid R4 on purpose (sirt-nhs-formats: ' Y53.4 '); the reader keeps it as it is, for the checks
        with pytest.raises(ValidationError):
            cls.model_validate_xml(dump_xml(resource))
        return
    assert cls.model_validate_xml(dump_xml(resource)) == model
    assert cls.model_validate(parse_xml(model.model_dump_xml())) == model


def test_primitive_extensions_and_ids_round_trip() -> None:
    patient = {
        "resourceType": "Patient", "id": "p1",
        "name": [{"id": "n1", "given": ["Ann", None, "Marie"], "_given": [None, {"id": "g2", "extension": [{"url": "http://example.org/x", "valueString": "?"}]}, None]}],
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]},
        "active": True, "multipleBirthInteger": 2,
    }
    xml = dump_xml(patient)
    assert b'<given id="g2"><extension url="http://example.org/x"><valueString value="?"/></extension></given>' in xml
    assert b'<name id="n1">' in xml and b'<id value="p1"/>' in xml
    assert roundtrip(patient) == patient
    # fhir.resources' own XML reader drops the id attributes of elements (ours keeps them): equal without them
    without_ids = {**patient, "name": [{"given": patient["name"][0]["given"], "_given": [None, {"extension": patient["name"][0]["_given"][1]["extension"]}, None]}]}
    assert get_fhir_model_class("Patient").model_validate_xml(xml) == get_fhir_model_class("Patient").model_validate(without_ids)


def test_cross_version_extensions_round_trip() -> None:
    """R5 expansion properties carried in R4 by the cross-version extensions, nested extensions included."""
    value_set = {"resourceType": "ValueSet", "status": "active", "expansion": {
        "timestamp": "2026-01-01T00:00:00Z",
        "extension": [{"url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property",
                       "extension": [{"url": "code", "valueCode": "status"}, {"url": "uri", "valueUri": "http://hl7.org/fhir/concept-properties#status"}]}],
        "contains": [{"system": "http://fhir.hl7.org.uk/CodeSystem/OPCS-4", "code": "J12.3", "display": "Selective internal radiotherapy",
                      "extension": [{"url": CROSS_VERSION, "extension": [{"url": "code", "valueCode": "status"},
                                                                          {"url": "value", "valueCode": "active"}]}]}]}}
    assert roundtrip(value_set) == value_set
    assert "2026-01-01T00:00:00Z" in dump_xml(value_set).decode()  # written as sent, not as the model rewrites dates


def test_narrative_contained_resources_and_numbers() -> None:
    procedure = {
        "resourceType": "Procedure", "status": "completed", "subject": {"reference": "#pat"},
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>J12.3 &amp; X65.3</p></div>'},
        "contained": [{"resourceType": "Patient", "id": "pat", "active": False}],
        "code": {"coding": [{"system": "http://fhir.hl7.org.uk/CodeSystem/OPCS-4", "code": "J12.3", "userSelected": True}]},
        "extension": [{"url": "http://example.org/dose", "valueQuantity": {"value": 1.25, "unit": "GBq"}},
                      {"url": "http://example.org/n", "valueDecimal": 3}],
    }
    xml = dump_xml(procedure)
    assert b"<contained><Patient><id value=\"pat\"/><active value=\"false\"/></Patient></contained>" in xml
    assert b'<value value="1.25"/>' in xml
    assert roundtrip(procedure) == procedure
    get_fhir_model_class("Procedure").model_validate_xml(xml)


def test_element_order_follows_the_definitions_not_the_json() -> None:
    coding = {"resourceType": "Parameters", "parameter": [{"valueCoding": {"display": "d", "code": "c", "system": "s"}, "name": "coding"}]}
    xml = dump_xml(coding).decode()
    assert xml.index("<name") < xml.index("<valueCoding") and xml.index("<system") < xml.index("<code") < xml.index("<display")


def test_invalid_content_reaches_the_structure_check_at_the_same_path() -> None:
    """What the models refuse is read as the JSON would carry it, so the same FHIRPath is reported."""
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Procedure", "status": "done-ish", "subject": {"reference": "Patient/1"}, "colour": "red",
                      "code": {"coding": [{"system": "http://fhir.hl7.org.uk/CodeSystem/OPCS-4", "code": "J12.3", "userSelected": "yes"}]}}}]}
    from_xml = roundtrip(bundle)
    assert from_xml == bundle

    def paths(resource: dict[str, Any]) -> list[str]:
        with pytest.raises(FhirError) as refused:
            check_structure(resource)
        return [e for i in refused.value.issues for e in i.expression]

    assert paths(from_xml) == paths(bundle) and paths(bundle)


def test_unwritable_names_are_an_error_not_a_crash() -> None:
    with pytest.raises(XmlWriteError):
        dump_xml({"resourceType": "Parameters", "definition:en": "x"})
    with pytest.raises(XmlWriteError):
        dump_xml({"resourceType": "Procedure", "text": {"status": "generated", "div": "<p>not a div"}})
    with pytest.raises(XmlWriteError):
        dump_xml({"no": "resourceType"})


def test_characters_xml_cannot_carry_are_replaced() -> None:
    xml = dump_xml({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid", "details": {"text": "a\x00b\x1fc"}}]})
    assert parse_xml(xml)["issue"][0]["details"]["text"] == "a\ufffdb\ufffdc"


def _tx_resources() -> list[Path]:
    if not (TX_TESTS / "test-cases.json").exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"HL7 tx-ecosystem test data not found at {TX_TESTS}; under CI=true it must be there")
        pytest.skip(f"HL7 tx-ecosystem test data not found at {TX_TESTS} (set TX_ECOSYSTEM_TESTS)")
    return sorted(p for p in TX_TESTS.rglob("*.json") if "-response" not in p.name)


def test_tx_ecosystem_requests_and_resources_round_trip() -> None:
    """Every request and setup resource of the HL7 suites (R4 and R5 content alike) reads back from XML unchanged,
    but for what JSON can say and XML cannot (a boolean sent as the string "true")."""
    different, checked = [], 0
    for path in _tx_resources():
        resource = orjson.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
        if not isinstance(resource, dict) or "resourceType" not in resource:
            continue
        resource = xml_names_only(resource)
        checked += 1
        if roundtrip(resource) != resource:
            different.append(path.name)
    assert checked > 1000
    assert different == ["batch-validate-bad-request-bundle.json"]


def test_an_answer_xml_cannot_carry_is_a_406_in_xml() -> None:
    from starlette.requests import Request

    from ipg_validator.server.negotiation import respond

    request = Request({"type": "http", "method": "GET", "path": "/fhir/x", "query_string": b"_format=xml", "headers": []})
    answer = respond(request, {"resourceType": "Parameters", "definition:en": "x"})
    assert answer.status_code == 406 and answer.media_type == "application/fhir+xml; charset=utf-8"
    outcome = parse_xml(answer.body)
    assert "cannot be written as XML" in outcome["issue"][0]["details"]["text"]
