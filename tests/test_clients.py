"""Real FHIR clients against the real server, started as a user would (`ipg-validator serve`)."""

from __future__ import annotations

import subprocess
from typing import Any

import orjson
from fhir.resources.R4B.operationoutcome import OperationOutcome
from typer.testing import CliRunner

from ipg_validator import validate_bundle
from ipg_validator.cli import app
from conftest import ROOT
from support.server import script

EXAMPLES = ROOT / "guidance" / "ipg672" / "examples"
RULES = "https://ipg-validator.org/fhir/CodeSystem/ipg672-rules"


def example(name: str) -> dict[str, Any]:
    return orjson.loads((EXAMPLES / f"{name}.json").read_bytes())


def check(outcome: Any, name: str) -> None:
    assert isinstance(outcome, dict) and outcome["resourceType"] == "OperationOutcome"
    OperationOutcome.model_validate(outcome)
    assert outcome == validate_bundle(example(name))


def test_fhirpy(fhir_base: str) -> None:
    from fhirpy import SyncFHIRClient

    client = SyncFHIRClient(fhir_base)
    outcome = client.execute("Bundle/$validate", method="post", data=example("missing-x65-3"))
    check(outcome, "missing-x65-3")
    codes = [c["code"] for i in outcome["issue"] if i["severity"] == "error" for c in i["details"]["coding"] if c["system"] == RULES]
    assert codes == ["ipg672-companion-required"]
    params = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": example("sirt-primary-present")}]}
    check(client.execute("Bundle/$validate", method="post", data=params), "sirt-primary-present")


def test_fhirclient(fhir_base: str) -> None:
    from fhirclient import client as fhirclient_client
    from fhirclient.models.operationoutcome import OperationOutcome as ClientOutcome

    smart = fhirclient_client.FHIRClient(settings={"app_id": "ipg-test", "api_base": fhir_base + "/"})
    response = smart.server.post_json("Bundle/$validate", example("missing-x65-3"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = response.json()
    check(outcome, "missing-x65-3")
    parsed = ClientOutcome(outcome)
    assert [i.severity for i in parsed.issue][0] == "error"
    assert parsed.issue[0].details.coding[0].code == "ipg672-companion-required"
    assert parsed.issue[0].expression == ["Bundle.entry[2].resource"]


def test_cli_against_the_server(fhir_base: str) -> None:
    path = EXAMPLES / "missing-x65-3.json"
    remote = CliRunner().invoke(app, ["validate", "--server", fhir_base, "--format", "json", str(path)])
    local = CliRunner().invoke(app, ["validate", "--format", "json", str(path)])
    assert remote.exit_code == local.exit_code == 1
    assert orjson.loads(remote.stdout) == orjson.loads(local.stdout) == validate_bundle(path.read_bytes())


def test_cli_subprocess_against_the_server(fhir_base: str) -> None:
    """The installed command, as a user runs it, with a folder and the exit code."""
    path = EXAMPLES / "sirt-primary-present.json"
    done = subprocess.run([script(), "validate", "--server", fhir_base, "--format", "json", str(path)], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == validate_bundle(path.read_bytes())
