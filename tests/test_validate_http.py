"""Resource/$validate over HTTP: Bundle, Procedure and Condition; refusals; the mounted router;
and the same OperationOutcome through HTTP, the command line and Python."""

from __future__ import annotations

import copy
import importlib.util
import warnings
from typing import Any

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.operationoutcome import OperationOutcome
from typer.testing import CliRunner

from ipg_validator import validate_bundle
from ipg_validator.cli import app as cli_app
from ipg_validator.content.index import ContentIndex
from ipg_validator.core.limits import Limits
from ipg_validator.fhir.validate_op import validate_operation
from ipg_validator.server import create_app
from conftest import ROOT

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

FHIR_JSON = "application/fhir+json"
EXAMPLES = ROOT / "guidance" / "ipg672" / "examples"
RULES = "https://ipg-validator.org/fhir/CodeSystem/ipg672-rules"
PROFILE = "https://ipg-validator.org/fhir/StructureDefinition/ipg672-encounter-bundle"
OPCS4 = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
ICD10 = "http://hl7.org/fhir/sid/icd-10-uk"
X65_3 = "X65.3 Delivery of a fraction of interstitial radiotherapy"


def example(name: str) -> dict[str, Any]:
    return orjson.loads((EXAMPLES / f"{name}.json").read_bytes())


def example_names() -> list[str]:
    return sorted(p.name[: -len(".json")] for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json"))


def entry_with_code(bundle: dict[str, Any], code: str) -> int:
    return next(
        n for n, e in enumerate(bundle["entry"])
        if any(c.get("code") == code for c in ((e["resource"].get("code") or {}).get("coding") or []))
    )


def rule_codes(outcome: dict[str, Any], severity: str | None = None) -> list[str]:
    return [
        c["code"] for i in outcome["issue"] if severity in (None, i["severity"])
        for c in i["details"].get("coding", []) if c.get("system") == RULES
    ]


def errors(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in outcome["issue"] if i["severity"] in ("error", "fatal")]


def post(client: TestClient, path: str, body: Any, content_type: str = FHIR_JSON, **kw: Any) -> Any:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post(f"/fhir/{path}", content=data, headers={"Content-Type": content_type}, **kw)


def outcome_of(response: Any, status: int = 200) -> dict[str, Any]:
    """A FHIR OperationOutcome answer with this status, valid as an R4B OperationOutcome."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == f"{FHIR_JSON}; charset=utf-8"
    assert "Traceback" not in response.text
    resource = orjson.loads(response.content)
    assert resource["resourceType"] == "OperationOutcome"
    OperationOutcome.model_validate(resource)
    return resource


# --- Bundle/$validate -------------------------------------------------------------------------


def test_valid_sirt_bundle_has_no_errors_and_one_summary(client: TestClient) -> None:
    outcome = outcome_of(post(client, "Bundle/$validate", example("sirt-primary-present")))
    assert errors(outcome) == []
    assert rule_codes(outcome, "information").count("ipg672-summary") == 1
    summary = next(i for i in outcome["issue"] if "ipg672-summary" in rule_codes({"issue": [i]}))
    assert "coded as IPG672 recommends" in summary["details"]["text"]


def test_one_summary_per_encounter(client: TestClient) -> None:
    bundle = example("two-encounters")
    encounters = sum(1 for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter")
    assert encounters == 2
    outcome = outcome_of(post(client, "Bundle/$validate", bundle))
    assert rule_codes(outcome).count("ipg672-summary") == encounters
    assert errors(outcome) == []


def test_missing_x65_3_is_an_error_at_the_j12_3_procedure(client: TestClient) -> None:
    bundle = example("missing-x65-3")
    j12 = entry_with_code(bundle, "J12.3")
    outcome = outcome_of(post(client, "Bundle/$validate", bundle))
    found = [i for i in errors(outcome) if {"system": RULES, "code": "ipg672-companion-required"} in i["details"]["coding"]]
    assert len(found) == 1
    issue = found[0]
    assert X65_3 in issue["details"]["text"]
    assert issue["expression"] == [f"Bundle.entry[{j12}].resource"]
    assert issue["location"] == issue["expression"]
    assert bundle["entry"][j12]["resource"]["resourceType"] == "Procedure"


def test_bundle_as_parameters_with_profile(client: TestClient) -> None:
    bundle = example("two-encounters")
    plain = outcome_of(post(client, "Bundle/$validate", bundle))
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": bundle},
        {"name": "mode", "valueCode": "create"},
        {"name": "profile", "valueUri": PROFILE},
    ]}
    forced = outcome_of(post(client, "Bundle/$validate", params))
    # the profile applies the rules to the encounter without J12.3 too
    assert errors(plain) == []
    assert "ipg672-companion-required" in rule_codes(forced, "error")
    assert forced == validate_bundle(bundle, profile=PROFILE)
    # without a profile, a Parameters body gives what the bare resource gives
    bare = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": bundle}]}
    assert outcome_of(post(client, "Bundle/$validate", bare)) == plain


def test_profile_in_the_query_string(client: TestClient) -> None:
    bundle = example("two-encounters")
    outcome = outcome_of(post(client, "Bundle/$validate", bundle, params={"profile": PROFILE}))
    assert outcome == validate_bundle(bundle, profile=PROFILE)


@pytest.mark.parametrize("content_type", [FHIR_JSON, "application/json", f"{FHIR_JSON}; charset=utf-8", "application/json;charset=UTF-8"])
def test_json_media_types(client: TestClient, content_type: str) -> None:
    outcome = outcome_of(post(client, "Bundle/$validate", example("missing-x65-3"), content_type))
    assert "ipg672-companion-required" in rule_codes(outcome, "error")


def test_format_json_parameter(client: TestClient) -> None:
    for fmt in ("json", "application/fhir+json", "application/json"):
        outcome = outcome_of(post(client, "Bundle/$validate", example("missing-x65-3"), params={"_format": fmt}))
        assert "ipg672-companion-required" in rule_codes(outcome, "error")
    refused = outcome_of(post(client, "Bundle/$validate", example("missing-x65-3"), params={"_format": "turtle"}), 415)
    assert errors(refused)


def test_pretty_answer_is_the_same_resource(client: TestClient) -> None:
    compact = post(client, "Bundle/$validate", example("missing-x65-3"))
    pretty = post(client, "Bundle/$validate", example("missing-x65-3"), params={"_pretty": "true"})
    assert b"\n" in pretty.content and b"\n" not in compact.content
    assert orjson.loads(pretty.content) == orjson.loads(compact.content)


# --- Procedure/$validate and Condition/$validate ----------------------------------------------


def test_procedure_validate(client: TestClient) -> None:
    bundle = example("sirt-primary-present")
    procedure = bundle["entry"][entry_with_code(bundle, "J12.3")]["resource"]
    outcome = outcome_of(post(client, "Procedure/$validate", procedure))
    assert errors(outcome) == []
    outside = copy.deepcopy(procedure)
    outside["code"]["coding"][0].update(code="J12.4", display="Percutaneous radiofrequency ablation of lesion of liver")
    outcome = outcome_of(post(client, "Procedure/$validate", outside))
    assert rule_codes(outcome) == ["ipg672-procedure-outside"]
    assert outcome["issue"][0]["expression"] == ["Procedure.code.coding[0]"]
    as_params = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": outside}]}
    assert outcome_of(post(client, "Procedure/$validate", as_params)) == outcome


def test_condition_validate(client: TestClient) -> None:
    bundle = example("sirt-primary-present")
    condition = bundle["entry"][entry_with_code(bundle, "C78.7")]["resource"]
    assert errors(outcome_of(post(client, "Condition/$validate", condition))) == []
    category = copy.deepcopy(condition)
    category["code"]["coding"][0].update(code="C18", display="Malignant neoplasm of colon")
    outcome = outcome_of(post(client, "Condition/$validate", category))
    assert [i["expression"] for i in errors(outcome)] == [["Condition.code.coding[0].code"]]
    assert "category" in errors(outcome)[0]["details"]["text"]


def test_procedure_sent_to_condition_validate(client: TestClient) -> None:
    bundle = example("sirt-primary-present")
    procedure = bundle["entry"][entry_with_code(bundle, "J12.3")]["resource"]
    outcome = outcome_of(post(client, "Condition/$validate", procedure))
    assert len(errors(outcome)) == 1
    assert "Expected a Condition" in errors(outcome)[0]["details"]["text"]
    assert "Procedure/$validate" in errors(outcome)[0]["details"]["text"]


# --- wrong things in, refusals ----------------------------------------------------------------


@pytest.mark.parametrize("body, expected", [
    ({"resourceType": "Patient", "id": "p"}, "Expected a Bundle, got a Patient"),
    ([], "got a JSON array"),
    (42, "got a JSON number"),
    ("a string", "got a JSON string"),
    (None, "got null"),
    ({"entry": []}, "without a resourceType"),
    ({"resourceType": "Parameters"}, "no 'resource' parameter"),
    ({"resourceType": "Parameters", "parameter": [{"name": "profile", "valueUri": PROFILE}]}, "no 'resource' parameter"),
    ({"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {"resourceType": "Patient"}}]}, "Expected a Bundle, got a Patient"),
    ({"resourceType": "Parameters", "parameter": "nope"}, "must be a list"),
    ({"resourceType": "Parameters", "parameter": [{"value": 1}]}, "has no name"),
])
def test_wrong_body_is_200_with_an_error(client: TestClient, body: Any, expected: str) -> None:
    outcome = outcome_of(post(client, "Bundle/$validate", body))
    assert len(errors(outcome)) == 1
    assert expected in errors(outcome)[0]["details"]["text"]


def test_modes(client: TestClient) -> None:
    bundle = example("missing-x65-3")
    for mode in ("create", "update", "profile"):
        params = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": bundle}, {"name": "mode", "valueCode": mode}]}
        assert outcome_of(post(client, "Bundle/$validate", params)) == validate_bundle(bundle)
    delete = {"resourceType": "Parameters", "parameter": [{"name": "mode", "valueCode": "delete"}]}
    outcome = outcome_of(post(client, "Bundle/$validate", delete))
    assert [i["severity"] for i in outcome["issue"]] == ["information"]
    assert "nothing is checked" in outcome["issue"][0]["details"]["text"]
    unknown = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": bundle}, {"name": "mode", "valueCode": "upsert"}]}
    outcome = outcome_of(post(client, "Bundle/$validate", unknown))
    assert len(errors(outcome)) == 1
    assert all(m in errors(outcome)[0]["details"]["text"] for m in ("create", "update", "delete", "profile"))
    in_query = outcome_of(post(client, "Bundle/$validate", bundle, params={"mode": "upsert"}))
    assert "upsert" in errors(in_query)[0]["details"]["text"]


def test_unknown_parameter_is_a_warning(client: TestClient) -> None:
    bundle = example("sirt-primary-present")
    params = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": bundle}, {"name": "colour", "valueString": "blue"}]}
    outcome = outcome_of(post(client, "Bundle/$validate", params))
    assert errors(outcome) == []
    assert any(i["severity"] == "warning" and "colour" in i["details"]["text"] for i in outcome["issue"])


def test_two_resources_in_parameters(client: TestClient) -> None:
    bundle = example("sirt-primary-present")
    params = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": bundle}] * 2}
    outcome = outcome_of(post(client, "Bundle/$validate", params))
    assert "2 'resource' parameters" in errors(outcome)[0]["details"]["text"]


@pytest.mark.parametrize("body", [b"<Bundle/>", b"{not json", b"", b"   "])
def test_not_json_is_400(client: TestClient, body: bytes) -> None:
    outcome = outcome_of(post(client, "Bundle/$validate", body), 400)
    assert errors(outcome)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json; charset=latin-1"])
def test_other_media_types_are_415(client: TestClient, content_type: str) -> None:
    outcome = outcome_of(post(client, "Bundle/$validate", example("missing-x65-3"), content_type), 415)
    assert errors(outcome)


def test_over_the_limit_is_413(index: ContentIndex) -> None:
    body = orjson.dumps(example("missing-x65-3"))
    with TestClient(create_app(index, limits=Limits(max_body_bytes=1000)), raise_server_exceptions=False) as small:
        outcome = outcome_of(post(small, "Bundle/$validate", body), 413)
        assert "1000" in errors(outcome)[0]["details"]["text"]
        ok = {"resourceType": "Patient"}
        assert outcome_of(post(small, "Procedure/$validate", ok))["issue"][0]["severity"] == "error"


def test_get_is_not_a_validation(client: TestClient) -> None:
    response = client.get("/fhir/Bundle/$validate")
    assert 400 <= response.status_code < 500
    outcome_of(response, response.status_code)


@pytest.mark.parametrize("path", ["Bundle/$validate", "Procedure/$validate", "Condition/$validate"])
@pytest.mark.parametrize("body", [
    b'{"resourceType":"Bundle","entry":"x"}',
    b'{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Procedure","code":7}}]}',
    b'{"resourceType":"Bundle","entry":[null,1,{"resource":[]},{"fullUrl":3,"resource":{"resourceType":"Encounter","subject":"x"}}]}',
    b'{"resourceType":"Procedure","code":{"coding":[{"system":7,"code":["J12.3"]}]}}',
    b'{"resourceType":"Condition","code":{"coding":"C78.7"},"encounter":{"reference":5}}',
    b'{"resourceType":"Parameters","parameter":[{"name":"resource","resource":null}]}',
    b'{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":7},{"name":"resource","resource":{}}]}',
    b'{"resourceType":"Parameters","parameter":[{"name":"profile","valueUri":"x"},{"name":"resource","resource":{"resourceType":"Bundle","meta":{"profile":5}}}]}',
    b'[[[[[]]]]]',
    b'"\\u0000"',
    b'1e400',
])
def test_never_5xx(client: TestClient, path: str, body: bytes) -> None:
    response = post(client, path, body)
    assert response.status_code in (200, 400), response.text
    outcome_of(response, response.status_code)


# --- one code path: HTTP, command line, Python ------------------------------------------------


def test_same_outcome_through_http_cli_and_python(client: TestClient, index: ContentIndex) -> None:
    names = example_names()
    assert len(names) >= 10
    result = CliRunner().invoke(cli_app, ["validate", "--format", "json", "--exclude", "*.expected.json", str(EXAMPLES)])
    assert result.exit_code in (0, 1), result.output
    collection = orjson.loads(result.stdout)
    assert collection["resourceType"] == "Bundle" and collection["type"] == "collection"
    by_url = {e["fullUrl"]: e["resource"] for e in collection["entry"]}
    assert len(by_url) == len(names)
    for name in names:
        path = EXAMPLES / f"{name}.json"
        raw = path.read_bytes()
        over_http = outcome_of(post(client, "Bundle/$validate", raw))
        in_python = validate_bundle(raw)
        from_cli = by_url[path.resolve().as_uri()]
        assert over_http == in_python == from_cli, name
        assert orjson.dumps(over_http) == orjson.dumps(in_python) == orjson.dumps(from_cli)
        assert validate_operation(index, orjson.loads(raw), "Bundle") == in_python


def test_single_input_cli_json_is_the_outcome(client: TestClient) -> None:
    path = EXAMPLES / "missing-x65-3.json"
    result = CliRunner().invoke(cli_app, ["validate", "--format", "json", str(path)])
    assert result.exit_code == 1
    assert orjson.loads(result.stdout) == outcome_of(post(client, "Bundle/$validate", path.read_bytes())) == validate_bundle(path.read_bytes())


# --- the mounted router (docs/mount_example.py) -----------------------------------------------


def test_mount_example() -> None:
    spec = importlib.util.spec_from_file_location("ipg_mount_example", ROOT / "docs" / "mount_example.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with TestClient(module.app, raise_server_exceptions=False) as mounted:
        assert mounted.get("/health").json() == {"status": "ok"}
        bundle = example("missing-x65-3")
        response = mounted.post("/ipg/fhir/Bundle/$validate", content=orjson.dumps(bundle), headers={"Content-Type": FHIR_JSON})
        assert outcome_of(response) == validate_bundle(bundle)
        assert outcome_of(mounted.post("/ipg/fhir/Bundle/$validate", content=b"<x/>", headers={"Content-Type": "text/plain"}), 415)
        assert outcome_of(mounted.post("/ipg/fhir/Bundle/$validate", content=b"nope", headers={"Content-Type": FHIR_JSON}), 400)
        metadata = mounted.get("/ipg/fhir/metadata")
        assert metadata.status_code == 200
        get_fhir_model_class("CapabilityStatement").model_validate(metadata.json())


@pytest.mark.parametrize("kind", ["Bundle", "Procedure", "Condition"])
def test_validate_needs_post(client: TestClient, kind: str) -> None:
    response = client.get(f"/fhir/{kind}/$validate")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json()["issue"][0]["severity"] == "error"


def test_capability_statement_declares_validate_and_profiles(client: TestClient) -> None:
    resources = {r["type"]: r for r in client.get("/fhir/metadata").json()["rest"][0]["resource"]}
    for kind, profile in (("Bundle", "ipg672-encounter-bundle"), ("Procedure", "ipg672-procedure"), ("Condition", "ipg672-condition")):
        assert [op["name"] for op in resources[kind]["operation"]] == ["validate"]
        assert resources[kind]["supportedProfile"] == [f"https://ipg-validator.org/fhir/StructureDefinition/{profile}"]
