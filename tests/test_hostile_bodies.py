"""Malformed and hostile request bodies over HTTP: each gets a well-formed OperationOutcome with the
right status, never a 500 or a stack trace, and where the body is validated, every input coding is
accounted for in the answer."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from ipg_validator.content.index import ContentIndex
from ipg_validator.core.limits import Limits
from ipg_validator.server import create_app

from fuzz import FUZZ, client_for, error_outcome, expressions, fhir_answer, fhir_xml_answer, issue_texts

OPCS4 = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
ICD10 = "http://hl7.org/fhir/sid/icd-10-uk"
FHIR = {"content-type": "application/fhir+json"}
BUNDLE = "/fhir/Bundle/$validate"
VALIDATE_PATHS = [BUNDLE, "/fhir/Procedure/$validate", "/fhir/Condition/$validate"]
TERMINOLOGY_POSTS = ["/fhir/ValueSet/$validate-code", "/fhir/CodeSystem/$validate-code", "/fhir/ValueSet/$expand", "/fhir/CodeSystem/$lookup", "/fhir/ValueSet/$batch-validate-code"]
ALL_POSTS = VALIDATE_PATHS + TERMINOLOGY_POSTS


@pytest.fixture(scope="module")
def client(index: ContentIndex) -> Iterator[Any]:
    with client_for(create_app(index, warm_up=False)) as c:
        yield c


def post(client: Any, path: str, body: bytes, headers: dict[str, str] | None = FHIR) -> Any:
    return client.post(path, content=body, headers=headers or {})


def procedure(codings: list[Any], **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Procedure", "status": "completed", "subject": {"reference": "Patient/p"}, "code": {"coding": codings}, **extra}


def collection(*resources: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": f"urn:uuid:r{n}", "resource": r} for n, r in enumerate(resources)]}


# -- bodies that cannot be read: 400 ----------------------------------------------------------

UNREADABLE = {
    "invalid UTF-8": b'{"resourceType":"Bundle","type":"collection","id":"\xff\xfe"}',
    "UTF-16": '{"resourceType":"Bundle"}'.encode("utf-16"),
    "truncated": b'{"resourceType":"Bundle","type":"coll',
    "truncated after a value": b'{"resourceType":"Bundle",',
    "XML sent as JSON": b'<?xml version="1.0"?><Bundle xmlns="http://hl7.org/fhir"><type value="collection"/></Bundle>',
    "form data sent as JSON": b"resourceType=Bundle&type=collection",
    "NaN": b'{"resourceType":"Bundle","x":NaN}',
    "a number past 64 bits": b'{"resourceType":"Bundle","x":1' + b"0" * 400 + b"}",
    "a lone surrogate": b'{"resourceType":"Bundle","id":"\\ud800"}',
    "trailing garbage": b'{"resourceType":"Bundle"} {"resourceType":"Bundle"}',
    "single quotes": b"{'resourceType':'Bundle'}",
    "empty": b"",
    "whitespace": b" \n\t ",
    "NUL bytes": b"\x00" * 64,
}


@pytest.mark.parametrize("path", ALL_POSTS)
@pytest.mark.parametrize("name", list(UNREADABLE))
def test_unreadable_body_is_400(client: Any, path: str, name: str) -> None:
    outcome = error_outcome(post(client, path, UNREADABLE[name]), 400)
    assert outcome["issue"][0]["code"] in ("structure", "invalid")


@pytest.mark.parametrize("path", ALL_POSTS)
def test_duplicate_keys_are_400(client: Any, path: str) -> None:
    # orjson (and most readers) keep the last, others the first: refuse rather than guess
    body = b'{"resourceType":"Bundle","resourceType":"Parameters","type":"collection"}'
    outcome = error_outcome(post(client, path, body), 400, "structure")
    assert "'resourceType' more than once" in issue_texts(outcome)[0]
    nested = orjson.dumps(collection(procedure([{"system": OPCS4, "code": "X65.3"}]))).replace(b'"code":"X65.3"', b'"code":"X65.3","code":"J12.3"')
    assert "'code' more than once" in issue_texts(error_outcome(post(client, BUNDLE, nested), 400))[0]


def test_same_key_in_different_objects_is_fine(client: Any) -> None:
    body = collection(procedure([{"system": OPCS4, "code": "X65.3"}, {"system": OPCS4, "code": "Y53.4"}]))
    fhir_answer(post(client, BUNDLE, orjson.dumps(body)), 200, "OperationOutcome")


def test_utf8_byte_order_mark_is_skipped(client: Any) -> None:
    body = orjson.dumps(collection(procedure([{"system": OPCS4, "code": "X65.3"}])))
    plain = fhir_answer(post(client, BUNDLE, body), 200)
    assert fhir_answer(post(client, BUNDLE, b"\xef\xbb\xbf" + body), 200) == plain


# -- size and depth: 413 ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_POSTS)
@pytest.mark.parametrize("shape", ["array", "object", "mixed"])
def test_ten_thousand_levels_deep_is_413(client: Any, path: str, shape: str) -> None:
    levels = 10_000
    body = {"array": b"[" * levels + b"]" * levels,
            "object": b'{"a":' * levels + b"1" + b"}" * levels,
            "mixed": b'{"resourceType":"Bundle","x":' + b'[{"a":' * (levels // 2) + b"1" + b"}]" * (levels // 2) + b"}"}[shape]
    started = time.monotonic()
    outcome = error_outcome(post(client, path, body), 413, "too-costly")
    assert time.monotonic() - started < 2
    assert "nested more than 100 levels" in issue_texts(outcome)[0]


def test_body_over_the_size_limit_is_413_by_header_and_by_stream(index: ContentIndex) -> None:
    with client_for(create_app(index, limits=Limits(max_body_bytes=1000), warm_up=False)) as small:
        big = orjson.dumps({"resourceType": "Bundle", "type": "collection", "id": "x" * 5000})
        error_outcome(small.post(BUNDLE, content=big, headers=FHIR), 413, "too-costly")

        def chunks() -> Iterator[bytes]:  # no Content-Length: refused as it streams
            for _ in range(10):
                yield b" " * 500

        error_outcome(small.post(BUNDLE, content=chunks(), headers=FHIR), 413, "too-costly")
        lying = small.post(BUNDLE, content=b"{}", headers={**FHIR, "content-length": "99999999999999999999"})
        outcome = error_outcome(lying, 413, "too-costly")  # refused on the declared length, before any byte is read
        assert "larger than the limit of 1000 bytes" in issue_texts(outcome)[0]


def test_huge_array_and_string_are_answered(client: Any) -> None:
    started = time.monotonic()
    array = {"resourceType": "Bundle", "type": "collection", "extension": [1] * 500_000}
    outcome = fhir_answer(post(client, BUNDLE, orjson.dumps(array)), 200, "OperationOutcome")
    assert any(i["severity"] == "error" for i in outcome["issue"])
    string = {"resourceType": "Bundle", "type": "collection", "id": "a" * 5_000_000}
    outcome = fhir_answer(post(client, BUNDLE, orjson.dumps(string)), 200, "OperationOutcome")
    assert any(e.startswith("Bundle.id") for e in expressions(outcome))
    assert all(len(t) < 20_000 for t in issue_texts(outcome)), "a message echoes the 5 MB string"
    code = orjson.dumps(collection(procedure([{"system": OPCS4, "code": "X" * 1_000_000}])))
    outcome = fhir_answer(post(client, BUNDLE, code), 200, "OperationOutcome")
    assert any(e.startswith("Bundle.entry[0].resource.code.coding[0]") for e in expressions(outcome))
    assert time.monotonic() - started < 30


def test_too_many_bundle_entries_is_413(index: ContentIndex) -> None:
    with client_for(create_app(index, limits=Limits(max_bundle_entries=100), warm_up=False)) as small:
        body = collection(*[{"resourceType": "Basic"}] * 101)
        error_outcome(small.post(BUNDLE, content=orjson.dumps(body), headers=FHIR), 413, "too-costly")
        wrapped = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": body}]}
        error_outcome(small.post(BUNDLE, content=orjson.dumps(wrapped), headers=FHIR), 413, "too-costly")


# -- Content-Type: 415, or JSON when missing --------------------------------------------------

GOOD = orjson.dumps(collection(procedure([{"system": OPCS4, "code": "X65.3"}])))


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "xml",
                                          "multipart/form-data; boundary=x", "text/plain", "application/octet-stream", ";;;===",
                                          "application/json; charset=latin-1", "application/fhir+json; charset=utf-16"])
@pytest.mark.parametrize("path", ALL_POSTS)
def test_wrong_content_type_is_415(client: Any, path: str, content_type: str) -> None:
    error_outcome(post(client, path, GOOD, {"content-type": content_type}), 415, "not-supported")


@pytest.mark.parametrize("content_type", [None, "", "application/json", "application/fhir+json", "APPLICATION/FHIR+JSON; Charset=UTF-8",
                                          'application/fhir+json; fhirVersion=4.0; charset="utf-8"'])
def test_json_content_types_and_none_are_read(client: Any, content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    fhir_answer(post(client, BUNDLE, GOOD, headers), 200, "OperationOutcome")


@pytest.mark.parametrize("content_type", ["application/xml", "application/fhir+xml", "text/xml"])
@pytest.mark.parametrize("path", ALL_POSTS)
def test_json_labelled_xml_is_400_not_xml(client: Any, path: str, content_type: str) -> None:
    outcome = fhir_xml_answer(post(client, path, GOOD, {"content-type": content_type}), 400, "OperationOutcome")
    assert "not well-formed" in outcome["issue"][0]["details"]["text"] and "line 1 column 1" in outcome["issue"][0]["details"]["text"]


def test_form_data_as_form_is_415(client: Any) -> None:
    response = client.post(BUNDLE, data={"resourceType": "Bundle"})
    error_outcome(response, 415, "not-supported")
    response = client.post(BUNDLE, files={"file": ("b.json", GOOD, "application/json")})
    error_outcome(response, 415, "not-supported")


# -- JSON that is the wrong thing: 200 with an error, or 400 for terminology Parameters -------

WRONG_THINGS: dict[str, Any] = {
    "array": [], "number": 5, "string": "Bundle", "null": None, "true": True, "empty object": {},
    "resourceType number": {"resourceType": 5}, "resourceType null": {"resourceType": None},
    "resourceType object": {"resourceType": {"a": 1}}, "unknown resourceType": {"resourceType": "Nope"},
    "Patient": {"resourceType": "Patient"},
}


@pytest.mark.parametrize("path", VALIDATE_PATHS)
@pytest.mark.parametrize("name", list(WRONG_THINGS))
def test_validate_answers_any_json_with_an_error_issue(client: Any, path: str, name: str) -> None:
    outcome = fhir_answer(post(client, path, orjson.dumps(WRONG_THINGS[name])), 200, "OperationOutcome")
    assert [i["severity"] for i in outcome["issue"]] == ["error"]


@pytest.mark.parametrize("path", TERMINOLOGY_POSTS)
@pytest.mark.parametrize("name", list(WRONG_THINGS))
def test_terminology_refuses_json_that_is_not_parameters(client: Any, path: str, name: str) -> None:
    error_outcome(post(client, path, orjson.dumps(WRONG_THINGS[name])), 400)


BROKEN_PARAMETERS: list[Any] = [
    {"resourceType": "Parameters", "parameter": {"name": "code"}},
    {"resourceType": "Parameters", "parameter": [None, 1, "x", []]},
    {"resourceType": "Parameters", "parameter": [{"name": 5, "valueCode": "X65.3"}]},
    {"resourceType": "Parameters", "parameter": [{"name": "code", "valueCode": None}]},
    {"resourceType": "Parameters", "parameter": [{"name": "code", "valueCode": 65.3}, {"name": "system", "valueUri": [OPCS4]}]},
    {"resourceType": "Parameters", "parameter": [{"name": "coding", "valueCoding": {"system": 5, "code": [1]}}]},
    {"resourceType": "Parameters", "parameter": [{"name": "codeableConcept", "valueCodeableConcept": {"coding": "x"}}]},
    {"resourceType": "Parameters", "parameter": [{"name": "codeableConcept", "valueCodeableConcept": {"coding": [None, 5]}}]},
    {"resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": {"resourceType": "ValueSet", "status": "active", "compose": "x"}}]},
    {"resourceType": "Parameters", "parameter": [{"name": "tx-resource", "resource": []}]},
    {"resourceType": "Parameters", "parameter": [{"name": "count", "valueInteger": -5}, {"name": "offset", "valueInteger": 2**62}]},
    {"resourceType": "Parameters", "parameter": [{"name": "validation", "resource": {"resourceType": "Parameters", "parameter": "x"}}]},
]


@pytest.mark.parametrize("path", ALL_POSTS)
@pytest.mark.parametrize("n", range(len(BROKEN_PARAMETERS)))
def test_broken_parameters_are_answered_without_500(client: Any, path: str, n: int) -> None:
    fhir_answer(post(client, path, orjson.dumps(BROKEN_PARAMETERS[n])))


# -- numbers and nulls where codes belong, empty arrays: every coding accounted for ----------

ODD_CODINGS: list[Any] = [
    {"system": OPCS4, "code": None}, {"system": OPCS4, "code": 653}, {"system": OPCS4, "code": ["X65.3"]},
    {"system": OPCS4, "code": {"value": "X65.3"}}, {"system": None, "code": "X65.3"}, {"system": 4, "code": "X65.3"},
    {"system": OPCS4, "code": ""}, {"system": OPCS4, "code": True}, {"system": OPCS4}, {}, None, 7, "X65.3", [],
    {"system": OPCS4, "code": "X65.3", "display": 12}, {"system": OPCS4, "code": "X65.3", "version": {}},
]


def test_odd_codings_each_accounted_for(client: Any) -> None:
    body = collection({"resourceType": "Encounter", "id": "e", "status": "finished", "class": {"code": "IMP"}, "subject": {"reference": "Patient/p"}},
                      procedure(ODD_CODINGS, encounter={"reference": "Encounter/e"}))
    outcome = fhir_answer(post(client, BUNDLE, orjson.dumps(body)), 200, "OperationOutcome")
    places = expressions(outcome)
    summary = " ".join(t for i, t in zip(outcome["issue"], issue_texts(outcome)) if i["details"]["coding"][0]["code"] == "ipg672-summary")
    for n, coding in enumerate(ODD_CODINGS):
        where = f"Bundle.entry[1].resource.code.coding[{n}]"
        reported = any(p == where or p.startswith(where + ".") for p in places)
        assert reported or (isinstance(coding, dict) and isinstance(coding.get("code"), str) and coding["code"] in summary), (n, coding)


@pytest.mark.parametrize("path,kind", [("/fhir/Procedure/$validate", "Procedure"), ("/fhir/Condition/$validate", "Condition")])
def test_odd_codings_in_single_resources(client: Any, path: str, kind: str) -> None:
    resource = procedure(ODD_CODINGS) if kind == "Procedure" else {"resourceType": "Condition", "subject": {"reference": "Patient/p"}, "code": {"coding": ODD_CODINGS}}
    outcome = fhir_answer(post(client, path, orjson.dumps(resource)), 200, "OperationOutcome")
    assert any(i["severity"] == "error" for i in outcome["issue"])


@pytest.mark.parametrize("body", [
    {"resourceType": "Bundle", "type": "collection", "entry": []},
    {"resourceType": "Bundle", "type": "collection", "entry": [{}]},
    {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {}}]},
    collection(procedure([])),
    collection({"resourceType": "Condition", "code": {"coding": []}}),
    collection({"resourceType": "Encounter", "status": "finished", "class": {"code": "IMP"}, "diagnosis": []}),
    {"resourceType": "Bundle", "type": "collection", "entry": None},
    {"resourceType": "Bundle", "type": "collection", "entry": {"resource": {}}},
    {"resourceType": "Parameters", "parameter": []},
    {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {"resourceType": "Bundle", "type": "collection", "entry": []}}]},
])
def test_empty_arrays_and_nulls(client: Any, body: Any) -> None:
    fhir_answer(post(client, BUNDLE, orjson.dumps(body)), 200, "OperationOutcome")


def test_bundle_inside_a_bundle(client: Any) -> None:
    inner = collection(procedure([{"system": OPCS4, "code": "X65.3"}]))
    outer = collection(inner, procedure([{"system": OPCS4, "code": "J12.3"}]))
    outcome = fhir_answer(post(client, BUNDLE, orjson.dumps(outer)), 200, "OperationOutcome")
    assert any("J12.3" in t for t in issue_texts(outcome))  # the outer Procedure is judged
    nested = outer
    for _ in range(30):  # Bundles nested 30 deep (within the depth limit): answered, quickly
        nested = collection(nested)
    started = time.monotonic()
    fhir_answer(post(client, BUNDLE, orjson.dumps(nested)), 200, "OperationOutcome")
    assert time.monotonic() - started < 5
    as_param = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": outer}]}
    assert fhir_answer(post(client, BUNDLE, orjson.dumps(as_param)), 200) == outcome


@pytest.mark.parametrize("where", ["bundle", "procedure", "condition"])
def test_ten_thousand_codings_each_accounted_for(client: Any, where: str) -> None:
    n = 10_000
    codes = [f"X{k % 100:02d}.{k % 10}" for k in range(n)]
    system = ICD10 if where == "condition" else OPCS4
    codings = [{"system": system, "code": c} for c in codes]
    codings[17] = {"system": system, "code": None}
    codings[4242] = {"system": "http://example.org/unknown", "code": "Q"}
    resource = ({"resourceType": "Condition", "subject": {"reference": "Patient/p"}, "code": {"coding": codings}}
                if where == "condition" else procedure(codings))
    path, body = (BUNDLE, collection(resource)) if where == "bundle" else (f"/fhir/{resource['resourceType']}/$validate", resource)
    started = time.monotonic()
    outcome = fhir_answer(post(client, path, orjson.dumps(body)), 200, "OperationOutcome")
    assert time.monotonic() - started < 60
    prefix = "Bundle.entry[0].resource.code.coding" if where == "bundle" else f"{resource['resourceType']}.code.coding"
    placed = {int(m.group(1)) for e in expressions(outcome) if (m := re.match(re.escape(prefix) + r"\[(\d+)\]", e))}
    summary = set(" ".join(issue_texts(outcome)).split())
    assert {17, 4242} <= placed
    missing = [k for k, c in enumerate(codes) if k not in placed and c not in summary]
    assert not missing, f"{len(missing)} codings unaccounted for, e.g. {missing[:5]}"


@pytest.mark.skipif(not FUZZ, reason="heavy: make fuzz")
def test_ten_thousand_entries_at_the_limit(client: Any) -> None:
    body = collection(*[procedure([{"system": OPCS4, "code": "X65.3"}], id=f"p{n}") for n in range(10_000)])
    outcome = fhir_answer(post(client, BUNDLE, orjson.dumps(body)), 200, "OperationOutcome")
    assert outcome["issue"]


# -- wrong methods, odd query strings -----------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_validate_by_other_methods_is_405(client: Any, method: str) -> None:
    response = client.request(method, BUNDLE, content=GOOD, headers=FHIR)
    error_outcome(response, 405, "not-supported")


@pytest.mark.parametrize("query", ["_format=" + "x" * 10000, "mode=" + "%00" * 100,
                                   "profile=" + "%ff" * 50, "mode=delete&mode=create", "_pretty=true" * 1000])
def test_odd_query_strings(client: Any, query: str) -> None:
    response = client.post(f"{BUNDLE}?{query}", content=GOOD, headers=FHIR)
    fhir_answer(response)


@pytest.mark.parametrize("query", ["_format=xml", "_format=application/fhir%2Bxml", "_format=application/fhir+xml", "_format=text/xml&_pretty=true"])
def test_format_xml_answers_xml(client: Any, query: str) -> None:
    fhir_xml_answer(client.post(f"{BUNDLE}?{query}", content=GOOD, headers=FHIR), 200, "OperationOutcome")
