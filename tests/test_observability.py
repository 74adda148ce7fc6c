"""server.observability in-process: operation names, request ids, the JSON log line, the metrics."""

from __future__ import annotations

import json
import logging
import logging.config
import warnings

import pytest
from ipg_validator.server.observability import JsonFormatter, log_config, operation_of, request_id
from conftest import ROOT

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EXAMPLE = (ROOT / "guidance" / "ipg672" / "examples" / "missing-x65-3.json").read_bytes()


@pytest.mark.parametrize(("method", "path", "operation"), [
    ("GET", "/healthz", "healthz"), ("GET", "/readyz", "readyz"), ("GET", "/metrics", "metrics"),
    ("GET", "/fhir/metadata", "metadata"),
    ("GET", "/fhir/ValueSet/$validate-code", "ValueSet/$validate-code"),
    ("POST", "/fhir/ValueSet/ipg672-procedures/$expand", "ValueSet/$expand"),
    ("POST", "/fhir/Bundle/$validate", "Bundle/$validate"),
    ("GET", "/fhir/ValueSet/ipg672-procedures", "ValueSet/read"),
    ("GET", "/fhir/ValueSet", "ValueSet/search"),
    ("GET", "/fhir/Patient/123", "other/read"),  # unknown types do not make new label values
    ("GET", "/fhir/ValueSet/$made-up", "ValueSet/$other"),
    ("GET", "/elsewhere", "other"),
])
def test_operation_names_are_bounded(method: str, path: str, operation: str) -> None:
    assert operation_of(method, path) == operation


def test_request_id_taken_or_made() -> None:
    assert request_id({"headers": [(b"x-request-id", b"abc-123")]}) == "abc-123"
    made = request_id({"headers": [(b"x-request-id", b"bad id\nwith newline")]})
    assert made != "bad id\nwith newline" and len(made) == 32
    assert len(request_id({"headers": []})) == 32


def test_log_line_per_request(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="ipg_validator.access"):
        response = client.post("/fhir/Bundle/$validate?mode=profile", content=EXAMPLE,
                               headers={"Content-Type": "application/fhir+json", "X-Request-Id": "req-1"})
    assert response.headers["X-Request-Id"] == "req-1"
    records = [r for r in caplog.records if r.name == "ipg_validator.access"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == "req-1" and line["method"] == "POST" and line["status"] == 200
    assert line["path"] == "/fhir/Bundle/$validate" and line["operation"] == "Bundle/$validate"
    assert line["issues"]["error"] == 1 and isinstance(line["duration_ms"], float)
    text = json.dumps(line)
    assert "mode=profile" not in text and "Okafor" not in text.lower().title()  # no query values, no body


def test_metrics_endpoint(client: TestClient) -> None:
    client.get("/fhir/metadata")
    client.post("/fhir/Bundle/$validate", content=EXAMPLE, headers={"Content-Type": "application/fhir+json"})
    text = client.get("/metrics").text
    assert 'ipg_requests_total{operation="metadata",status="200"}' in text
    assert 'ipg_request_duration_seconds_count{operation="Bundle/$validate",status="200"}' in text
    assert 'ipg_validation_findings_total{rule="ipg672-companion-required",severity="error"}' in text


def test_log_config_is_json() -> None:
    config = log_config("info")
    logging.config.dictConfig(config)
    assert config["loggers"]["ipg_validator"]["level"] == "INFO"
    assert log_config("trace")["loggers"]["ipg_validator"]["level"] == "DEBUG"
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom %s", ("now",), None)
    assert json.loads(JsonFormatter().format(record))["message"] == "boom now"



def test_findings_counted_alike_from_the_outcome_or_its_bytes() -> None:
    from ipg_validator import validate_bundle
    from ipg_validator.server.observability import _count_findings

    outcome = validate_bundle(EXAMPLE)
    assert _count_findings(outcome) == _count_findings(json.dumps(outcome).encode()) != {}
    assert _count_findings(b"not json") == {}


def test_findings_are_counted_by_the_rule_id_of_any_rule_set() -> None:
    """A second guidance's findings count under their own rule ids (its rule system is not the IPG672 one);
    terminology issues count under their message id, the rest under their code."""
    from ipg_validator.server.observability import _rule_of

    other = {"severity": "error", "code": "business-rule",
             "details": {"coding": [{"system": "https://example.org/CodeSystem/ipg999-rules", "code": "ipg999-first"}]}}
    terminology = {"severity": "warning", "code": "code-invalid",
                   "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id", "valueString": "NHS_CODE_FORMAT"}],
                   "details": {"coding": [{"system": "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type", "code": "code-rule"}]}}
    assert _rule_of(other) == "ipg999-first"
    assert _rule_of(terminology) == "NHS_CODE_FORMAT"
    assert _rule_of({"severity": "error", "code": "structure"}) == "issue-structure"
