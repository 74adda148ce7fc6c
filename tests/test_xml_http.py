"""FHIR XML over HTTP: every operation that takes a body reads XML and answers as asked, with the same outcome as JSON.

The JSON answer is computed in the same test run and compared with the XML answer read back into
its JSON form, so the comparison holds whatever the rules say today. Hostile XML (entities, DTDs,
depth, size, encodings, malformed) is refused with a 4xx naming the problem, never a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from ipg_validator.content.index import ContentIndex
from ipg_validator.core.limits import Limits
from ipg_validator.fhir.xml import dump_xml, parse_xml
from ipg_validator.server import create_app
from conftest import DIAGNOSES, OPCS4, PROCEDURES, ROOT
from fuzz import FHIR_XML_UTF8, client_for, error_outcome, fhir_answer, fhir_xml_answer, prop

EXAMPLES = sorted(p for p in (ROOT / "guidance" / "ipg672" / "examples").glob("*.json") if not p.name.endswith(".expected.json"))
JSON_IN = {"content-type": "application/fhir+json", "accept": "application/fhir+json"}
XML_IN = {"content-type": "application/fhir+xml", "accept": "application/fhir+xml"}
SOURCE = "http://example.org/CodeSystem/local-procedures"
R5_MAP = {"resourceType": "ConceptMap", "url": "http://example.org/ConceptMap/local-to-opcs", "status": "draft",
          "group": [{"source": SOURCE, "target": OPCS4, "element": [
              {"code": "sirt", "target": [{"code": "J12.3", "display": "Selective internal radiotherapy", "relationship": "equivalent"}]}]}]}


def parameters(*items: tuple[str, str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [{"name": n, k: v} for n, k, v in items]}


@pytest.fixture(scope="module")
def client(index: ContentIndex) -> Iterator[Any]:
    with client_for(create_app(index)) as c:
        yield c


def both(client: Any, path: str, resource: dict[str, Any], params: dict[str, str] | None = None) -> tuple[dict[str, Any], dict[str, Any], int]:
    """The answer to `resource` sent as JSON and as XML (read back into JSON), and their shared status."""
    as_json = client.post(path, content=orjson.dumps(resource), headers=JSON_IN, params=params)
    as_xml = client.post(path, content=dump_xml(resource), headers=XML_IN, params=params)
    assert as_json.status_code == as_xml.status_code, (as_json.text[:500], as_xml.text[:500])
    return fhir_answer(as_json), fhir_xml_answer(as_xml), as_json.status_code


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_as_xml_has_the_outcome_of_its_json(fhir_base: str, path: Path) -> None:
    """Over real HTTP, to `ipg-validator serve`: the same OperationOutcome, issue for issue, FHIRPath for FHIRPath.

    An example with empty arrays (empty-elements) is compared with its JSON as XML carries it: XML has no empty array."""
    from test_xml import without_empty

    bundle = without_empty(orjson.loads(path.read_bytes()))
    url = f"{fhir_base}/Bundle/$validate"
    as_json = requests.post(url, data=orjson.dumps(bundle), headers=JSON_IN, timeout=30)
    as_xml = requests.post(url, data=dump_xml(bundle, pretty=True), headers={"content-type": "application/fhir+xml"}, timeout=30)
    assert as_json.status_code == as_xml.status_code == 200
    assert as_xml.headers["content-type"] == FHIR_XML_UTF8  # answered in the format it was sent in
    assert parse_xml(as_xml.content) == as_json.json()


def test_single_resources_and_parameters_wrapped(client: Any) -> None:
    bundle = orjson.loads((ROOT / "guidance" / "ipg672" / "examples" / "missing-x65-3.json").read_bytes())
    resources = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
    for kind in ("Procedure", "Condition"):
        as_json, as_xml, status = both(client, f"/fhir/{kind}/$validate", resources[kind])
        assert status == 200 and as_json == as_xml
    wrapped = parameters(("resource", "resource", bundle), ("mode", "valueCode", "create"))
    as_json, as_xml, _ = both(client, "/fhir/Bundle/$validate", wrapped)
    assert as_json == as_xml and any(i.get("expression") for i in as_json["issue"])


TERMINOLOGY = [
    ("/fhir/ValueSet/$validate-code", parameters(("url", "valueUri", PROCEDURES), ("system", "valueUri", OPCS4), ("code", "valueCode", "J123"))),
    ("/fhir/ValueSet/$validate-code", parameters(("url", "valueUri", DIAGNOSES), ("coding", "valueCoding", {"system": OPCS4, "code": "J12.3"}))),
    ("/fhir/CodeSystem/$validate-code", parameters(("url", "valueUri", OPCS4), ("code", "valueCode", "Y89"), ("display", "valueString", "wrong"))),
    ("/fhir/ValueSet/$expand", parameters(("url", "valueUri", DIAGNOSES), ("filter", "valueString", "colon"), ("count", "valueInteger", 5))),
    ("/fhir/CodeSystem/$lookup", parameters(("system", "valueUri", OPCS4), ("code", "valueCode", "Y89.1"))),
    ("/fhir/ValueSet/$batch-validate-code", parameters(
        ("url", "valueUri", PROCEDURES),
        ("validation", "resource", parameters(("coding", "valueCoding", {"system": OPCS4, "code": "J12.3"}))),
        ("validation", "resource", parameters(("coding", "valueCoding", {"system": OPCS4, "code": "Y89"}))))),
    ("/fhir/ConceptMap/$translate", parameters(("sourceCode", "valueCode", "sirt"), ("system", "valueUri", SOURCE), ("tx-resource", "resource", R5_MAP))),
    ("/fhir/ValueSet/$validate-code", parameters(("url", "valueUri", PROCEDURES), ("code", "valueBoolean", True))),  # a refusal
    ("/fhir/ValueSet/$expand", parameters(("url", "valueUri", "http://example.org/nope"))),  # not found
]


@pytest.mark.parametrize(("path", "body"), TERMINOLOGY, ids=[f"{p.rsplit('$', 1)[1]}-{n}" for n, (p, _) in enumerate(TERMINOLOGY)])
def test_terminology_operations_take_xml_parameters(client: Any, path: str, body: dict[str, Any]) -> None:
    as_json, as_xml, _ = both(client, path, body)
    assert unstamped(as_json) == unstamped(as_xml)


def unstamped(resource: dict[str, Any]) -> dict[str, Any]:
    """Without what differs between any two answers (an expansion's identifier and timestamp)."""
    expansion = resource.get("expansion")
    if isinstance(expansion, dict):
        return {**resource, "expansion": {k: v for k, v in expansion.items() if k not in ("identifier", "timestamp")}}
    return resource


def test_get_answers_xml_when_asked(client: Any) -> None:
    query = {"url": PROCEDURES, "system": OPCS4, "code": "J12.3"}
    as_json = fhir_answer(client.get("/fhir/ValueSet/$validate-code", params=query))
    assert fhir_xml_answer(client.get("/fhir/ValueSet/$validate-code", params={**query, "_format": "xml"})) == as_json
    metadata = fhir_xml_answer(client.get("/fhir/metadata", headers={"accept": "application/fhir+xml"}), 200, "CapabilityStatement")
    assert "application/fhir+xml" in metadata["format"]
    fhir_xml_answer(client.get("/fhir/ValueSet/nope", params={"_format": "xml"}), 404, "OperationOutcome")


def test_xml_without_content_type_is_read_as_xml(client: Any) -> None:
    bundle = orjson.loads((ROOT / "guidance" / "ipg672" / "examples" / "missing-x65-3.json").read_bytes())
    sniffed = fhir_xml_answer(client.post("/fhir/Bundle/$validate", content=dump_xml(bundle)), 200, "OperationOutcome")
    assert sniffed == fhir_answer(client.post("/fhir/Bundle/$validate", content=orjson.dumps(bundle)))


def test_xml_in_json_out(client: Any) -> None:
    bundle = orjson.loads((ROOT / "guidance" / "ipg672" / "examples" / "missing-x65-3.json").read_bytes())
    answer = client.post("/fhir/Bundle/$validate", content=dump_xml(bundle), headers={"content-type": "text/xml", "accept": "application/json"})
    assert fhir_answer(answer) == fhir_answer(client.post("/fhir/Bundle/$validate", content=orjson.dumps(bundle)))


# -- hostile XML ----------------------------------------------------------------------------------

OK_BUNDLE = b'<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/></Bundle>'
REFUSED = {
    "external entity (XXE)": (b'<?xml version="1.0"?>\n<!DOCTYPE Bundle [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                              b'<Bundle xmlns="http://hl7.org/fhir"><type value="&x;"/></Bundle>', 400, "line 2 column 1"),
    "entity expansion (billion laughs)": (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
                                          b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><Bundle xmlns="http://hl7.org/fhir"><type value="&c;"/></Bundle>', 400, "DTD"),
    "external DTD": (b'<!DOCTYPE Bundle SYSTEM "http://example.org/evil.dtd"><Bundle xmlns="http://hl7.org/fhir"/>', 400, "DTD"),
    "parameter entity": (b'<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><Bundle xmlns="http://hl7.org/fhir"/>', 400, "DTD"),
    "entity without a DTD": (b'<Bundle xmlns="http://hl7.org/fhir"><type value="&x;"/></Bundle>', 400, "Entity 'x' not defined at line 1 column"),
    "malformed": (b'<Bundle xmlns="http://hl7.org/fhir">\n  <type value="collection">\n</Bundle>', 400, "line 3 column"),
    "unquoted attribute": (b'<Bundle xmlns="http://hl7.org/fhir"><type value=collection/></Bundle>', 400, "line 1 column"),
    "not UTF-8": ('<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/></Bundle>'.encode("utf-16"), 400, "not UTF-8"),
    "declares Latin-1": (b'<?xml version="1.0" encoding="ISO-8859-1"?>' + OK_BUNDLE, 415, "ISO-8859-1"),
    "no namespace": (b'<Bundle><type value="collection"/></Bundle>', 400, "FHIR namespace"),
    "other namespace": (b'<Bundle xmlns="http://hl7.org/fhir/R5"/>', 400, "FHIR namespace"),
    "XInclude": (b'<Bundle xmlns="http://hl7.org/fhir" xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd"/></Bundle>',
                 400, "XInclude"),
    "text instead of value": (b'<Bundle xmlns="http://hl7.org/fhir"><type>collection</type></Bundle>', 400, "value=\"...\""),
    "element twice": (b'<Bundle xmlns="http://hl7.org/fhir"><type value="a"/><type value="b"/></Bundle>', 400, "Bundle.type is allowed only once"),
    "empty primitive": (b'<Bundle xmlns="http://hl7.org/fhir"><type/></Bundle>', 400, "neither a value"),
    "nested too deep": (b'<Bundle xmlns="http://hl7.org/fhir">' + b"<a>" * 300 + b"</a>" * 300 + b"</Bundle>", 413, "nested"),
    "JSON depth of the XML": (b'<Bundle xmlns="http://hl7.org/fhir">' + b"<a>" * 120 + b"</a>" * 120 + b"</Bundle>", 413, "JSON form"),
    "empty": (b"  ", 400, "empty"),
}


@pytest.mark.parametrize("name", list(REFUSED))
@pytest.mark.parametrize("path", ["/fhir/Bundle/$validate", "/fhir/ValueSet/$validate-code"])
def test_hostile_xml_is_refused_naming_the_problem(client: Any, path: str, name: str) -> None:
    body, status, says = REFUSED[name]
    answer = client.post(path, content=body, headers={"content-type": "application/fhir+xml", "accept": "application/fhir+json"})
    outcome = error_outcome(answer, status)
    assert says in outcome["issue"][0]["details"]["text"], outcome
    assert "/etc/passwd" not in answer.text or name in ("external entity (XXE)", "parameter entity", "XInclude") and "root:" not in answer.text


def test_xml_has_the_json_size_and_entry_limits(index: ContentIndex) -> None:
    entries = "".join('<entry><resource><Patient><id value="p%d"/></Patient></resource></entry>' % n for n in range(3))
    body = f'<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/>{entries}</Bundle>'.encode()
    with client_for(create_app(index, limits=Limits(max_bundle_entries=2))) as small:
        outcome = error_outcome(small.post("/fhir/Bundle/$validate", content=body, headers=XML_IN | {"accept": "application/json"}), 413, "too-costly")
        assert outcome["issue"][0]["expression"] == ["Bundle.entry"]
    with client_for(create_app(index, limits=Limits(max_body_bytes=len(body) - 1))) as tight:
        fhir_xml_answer(tight.post("/fhir/Bundle/$validate", content=body, headers=XML_IN), 413, "OperationOutcome")


@prop(60)
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda t: f'<Bundle xmlns="http://hl7.org/fhir">{t}</Bundle>'.encode()))
def test_any_bytes_sent_as_xml_get_a_fhir_answer(client: Any, body: bytes) -> None:
    answer = client.post("/fhir/Bundle/$validate", content=body, headers=XML_IN)
    fhir_xml_answer(answer)
