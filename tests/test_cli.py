"""The `ipg-validator` command line: answers, exit codes, JSON output and content handling."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.valueset import ValueSet
from ipg_validator.cli import app
from ipg_validator.core.systems import ICD10_UK, OPCS4
from support.trudgen import small_icd10_rows, small_opcs4_rows, write_icd10_file, write_opcs4_file
from typer.testing import CliRunner
from conftest import GUIDANCE_DIR, RULES_FILE, content_files

PROCEDURES = "https://ipg-validator.org/fhir/ValueSet/ipg672-procedures"
DIAGNOSES = "https://ipg-validator.org/fhir/ValueSet/ipg672-diagnoses"
WIDE = {"COLUMNS": "250", "IPG_CONTENT": ""}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env={**WIDE, **(env or {})})


def params(stdout: str) -> dict[str, Any]:
    data = orjson.loads(stdout)
    Parameters.model_validate(data)
    return {p["name"]: next((v for k, v in p.items() if k.startswith("value") or k == "resource"), None) for p in data["parameter"]}


@pytest.fixture(scope="module")
def trud_content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("trud")
    opcs = write_opcs4_file(folder / "OPCS411 CodesAndTitles Nov 2025 V1.0.txt", small_opcs4_rows())
    icd = write_icd10_file(folder / "ICD10_Edition5_CodesAndTitlesAndMetadata_GB_20160401.txt", small_icd10_rows())
    out = folder / "content"
    result = CliRunner().invoke(app, ["import-trud", "--opcs", str(opcs), "--icd10", str(icd), "--out", str(out)], env=WIDE)
    assert result.exit_code == 0, result.output
    return out


# validate-code


def test_validate_code_nhs_format_opcs_is_valid_with_warning(runner: CliRunner) -> None:
    result = run(runner, "validate-code", "--valueset", PROCEDURES, "J123")
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout and "invalid" not in result.stdout
    assert "J12.3" in result.stdout
    assert "WARNING" in result.stdout and "not in FHIR format" in result.stdout
    assert f"system {OPCS4} (OPCS-4) inferred from the value set" in result.stdout


def test_validate_code_icd10_filler_x_with_short_id(runner: CliRunner) -> None:
    result = run(runner, "validate-code", "--valueset", "ipg672-diagnoses", "C19X")
    assert result.exit_code == 0, result.output
    assert "C19" in result.stdout and "Malignant neoplasm of rectosigmoid junction" in result.stdout
    assert "inferred from the value set" in result.stdout and ICD10_UK in result.stdout


def test_validate_code_plain_valid_has_no_issues(runner: CliRunner) -> None:
    result = run(runner, "validate-code", "--valueset", PROCEDURES, "--system", "opcs4", "J12.3")
    assert result.exit_code == 0, result.output
    assert "inferred" not in result.stdout
    assert "Issues:" not in result.stdout


def test_validate_code_not_in_value_set_is_invalid_exit_1(runner: CliRunner) -> None:
    result = run(runner, "validate-code", "--valueset", DIAGNOSES, "--system", "icd-10", "C21")
    assert result.exit_code == 1, result.output
    assert "invalid" in result.stdout
    assert "ERROR" in result.stdout and "was not found in the value set" in result.stdout


def test_validate_code_wrong_display_is_a_warning(runner: CliRunner) -> None:
    # display mismatches on OPCS-4 and ICD-10 are warnings (UK files word some titles differently)
    result = run(runner, "validate-code", "--valueset", PROCEDURES, "--display", "Something else", "J12.3")
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.stdout and "Wrong Display Name 'Something else'" in result.stdout


def test_validate_code_json_is_the_fhir_parameters(runner: CliRunner) -> None:
    result = run(runner, "validate-code", "--valueset", PROCEDURES, "J123", "--json")
    assert result.exit_code == 0, result.output
    values = params(result.stdout)
    assert values["result"] is True
    assert values["code"] == "J12.3" and values["normalized-code"] == "J12.3"
    assert values["system"] == OPCS4
    issues = OperationOutcome.model_validate(values["issues"]).issue
    assert [i.severity for i in issues] == ["warning"]
    assert "inferred" in result.stderr  # the note stays out of the JSON


def test_validate_code_json_invalid(runner: CliRunner) -> None:
    result = run(runner, "validate-code", "--valueset", DIAGNOSES, "--system", ICD10_UK, "Z85.9", "--json")
    assert result.exit_code == 1
    assert params(result.stdout)["result"] is False


def test_validate_code_unknown_value_set_exit_2(runner: CliRunner) -> None:
    result = run(runner, "validate-code", "--valueset", "https://example.org/ValueSet/nope", "J12.3")
    assert result.exit_code == 2
    assert "is not loaded" in result.stderr


def test_validate_code_unknown_value_set_with_system_exit_2_json(runner: CliRunner) -> None:
    result = run(runner, "validate-code", "--valueset", "https://example.org/ValueSet/nope", "--system", "opcs4", "J12.3", "--json")
    assert result.exit_code == 2
    outcome = orjson.loads(result.stdout)
    OperationOutcome.model_validate(outcome)
    assert "could not be found" in outcome["issue"][0]["details"]["text"]


def test_validate_code_cannot_infer_system_from_mixed_value_set(runner: CliRunner, tmp_path: Path) -> None:
    mixed = {
        "resourceType": "ValueSet", "id": "mixed", "url": "https://example.org/ValueSet/mixed", "status": "active",
        "compose": {"include": [{"valueSet": [PROCEDURES]}, {"valueSet": [DIAGNOSES]}]},
    }
    (tmp_path / "ValueSet-mixed.json").write_bytes(orjson.dumps(mixed))
    result = run(runner, "validate-code", "--valueset", "https://example.org/ValueSet/mixed", "J12.3", "--content", str(tmp_path))
    assert result.exit_code == 2
    assert "more than one code system" in result.stderr and "--system" in result.stderr
    ok = run(runner, "validate-code", "--valueset", "https://example.org/ValueSet/mixed", "--system", "opcs4", "J12.3", "--content", str(tmp_path))
    assert ok.exit_code == 0, ok.output


def test_validate_code_requires_valueset(runner: CliRunner) -> None:
    assert run(runner, "validate-code", "J12.3").exit_code == 2


# lookup


def test_lookup_found_with_hierarchy(runner: CliRunner) -> None:
    result = run(runner, "lookup", "opcs4", "J12")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Other therapeutic percutaneous operations on liver" in out
    assert "J12.3, J12.4, J12.7, J12.8" in out
    assert "notSelectable │ true" in out
    assert OPCS4 in out and "4.11" in out


@pytest.mark.parametrize("system", ["icd10", "ICD-10", ICD10_UK])
def test_lookup_shorthand_systems_and_nhs_format(runner: CliRunner, system: str) -> None:
    result = run(runner, "lookup", system, "C19X")
    assert result.exit_code == 0, result.output
    assert "Malignant neoplasm of rectosigmoid junction" in result.stdout
    assert "WARNING" in result.stdout and "not in FHIR format" in result.stdout


def test_lookup_opcs_dash_shorthand_json(runner: CliRunner) -> None:
    result = run(runner, "lookup", "opcs-4", "J12.3", "--json")
    assert result.exit_code == 0, result.output
    values = params(result.stdout)
    assert values["system"] == OPCS4 and values["code"] == "J12.3" and values["abstract"] is False


def test_lookup_not_found_exit_1(runner: CliRunner) -> None:
    result = run(runner, "lookup", "opcs4", "Q99.9")
    assert result.exit_code == 1
    assert "Q99.9 was not found" in result.stderr
    json_result = run(runner, "lookup", "opcs4", "Q99.9", "--json")
    assert json_result.exit_code == 1
    OperationOutcome.model_validate(orjson.loads(json_result.stdout))


def test_lookup_unknown_system_exit_2(runner: CliRunner) -> None:
    result = run(runner, "lookup", "https://example.org/CodeSystem/none", "A1")
    assert result.exit_code == 2
    assert "could not be found" in result.stderr


# expand


def test_expand_diagnoses_lists_exactly_the_ipg672_codes(runner: CliRunner) -> None:
    result = run(runner, "expand", DIAGNOSES, "--json")
    assert result.exit_code == 0, result.output
    vs = orjson.loads(result.stdout)
    ValueSet.model_validate(vs)
    codes = sorted(c["code"] for c in vs["expansion"]["contains"])
    assert codes == sorted([f"C18.{n}" for n in range(10)] + ["C19", "C20", "C78.7", "Z85.0"])
    assert vs["expansion"]["total"] == 14


def test_expand_human_header_says_fragment(runner: CliRunner) -> None:
    result = run(runner, "expand", "ipg672-diagnoses")
    assert result.exit_code == 0, result.output
    assert "total: 14 codes" in result.stdout
    assert "FRAGMENT" in result.stdout
    for code in ("C18.0", "C18.9", "C19", "C20", "C78.7", "Z85.0"):
        assert f"│ {code} " in result.stdout


def test_expand_filter_offset_count(runner: CliRunner) -> None:
    result = run(runner, "expand", DIAGNOSES, "--filter", "rectosigmoid", "--json")
    assert [c["code"] for c in orjson.loads(result.stdout)["expansion"]["contains"]] == ["C19"]
    paged = orjson.loads(run(runner, "expand", DIAGNOSES, "--offset", "2", "--count", "3", "--json").stdout)
    assert paged["expansion"]["total"] == 14 and len(paged["expansion"]["contains"]) == 3


def test_expand_unknown_value_set_exit_2(runner: CliRunner) -> None:
    result = run(runner, "expand", "https://example.org/ValueSet/none")
    assert result.exit_code == 2
    assert "could not be found" in result.stderr


# content, import-trud


def test_content_status_shows_fragments(runner: CliRunner) -> None:
    result = run(runner, "content")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("fragment │") == 2
    assert "ipg672-procedures" in result.stdout
    data = orjson.loads(run(runner, "content", "--json").stdout)
    assert {cs["url"]: cs["release"] for cs in data["codeSystems"]} == {OPCS4: "fragment", ICD10_UK: "fragment"}
    shipped = len(content_files("ValueSet-*.json"))
    assert data["replaced"] == [] and data["counts"]["ValueSet"] == shipped >= 8
    (pack,) = data["guidancePacks"]
    rules = len(orjson.loads(RULES_FILE.read_bytes())["rules"])
    assert (pack["id"], pack["guidance"], pack["rules"]) == ("ipg672", "IPG672", rules) and "Guidance packs" in result.stdout


def test_content_lists_a_second_guidance_pack(runner: CliRunner) -> None:
    data = orjson.loads(run(runner, "content", "--json", "--content", str(GUIDANCE_DIR.parent / "tests" / "packs")).stdout)
    assert [(p["id"], p["guidance"]) for p in data["guidancePacks"]] == [("ipg672", "IPG672"), ("tst001", "TST001")]


def test_import_trud_then_content_reports_complete(runner: CliRunner, trud_content: Path) -> None:
    written = sorted(p.name for p in trud_content.iterdir())
    assert len(written) == 2 and all(n.startswith("CodeSystem-") for n in written)
    result = run(runner, "content", "--content", str(trud_content))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("complete release │") == 2
    assert "fragment │" not in result.stdout
    data = orjson.loads(run(runner, "content", "--json", "--content", str(trud_content)).stdout)
    assert {cs["url"]: cs["release"] for cs in data["codeSystems"]} == {OPCS4: "complete", ICD10_UK: "complete"}
    assert len(data["replaced"]) == 2


def test_import_trud_output_names_files_and_counts(runner: CliRunner, tmp_path: Path) -> None:
    opcs = write_opcs4_file(tmp_path / "OPCS411 CodesAndTitles.txt", small_opcs4_rows())
    result = run(runner, "import-trud", "--opcs", str(opcs), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert f"{len(small_opcs4_rows())} concepts" in result.stdout
    assert "--content" in result.stdout and "IPG_CONTENT" in result.stdout
    files = list((tmp_path / "out").iterdir())
    assert len(files) == 1 and files[0].name.startswith("CodeSystem-opcs-4") and str(files[0]) in result.stdout


def test_import_trud_bad_file_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "OPCS411 bad.txt"
    bad.write_text("not a tab separated line\n")
    result = run(runner, "import-trud", "--opcs", str(bad), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert str(bad) in result.stderr and "line 1" in result.stderr


def test_import_trud_needs_a_file(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "import-trud", "--out", str(tmp_path))
    assert result.exit_code == 2 and "--opcs" in result.stderr
    missing = run(runner, "import-trud", "--icd10", str(tmp_path / "missing.txt"), "--out", str(tmp_path))
    assert missing.exit_code == 2 and "missing.txt" in missing.stderr


def test_full_release_answers_codes_outside_the_fragment(runner: CliRunner, trud_content: Path) -> None:
    fragment = run(runner, "lookup", "opcs4", "J12.4")
    full = run(runner, "lookup", "opcs4", "Y53.2", "--content", str(trud_content), "--json")
    assert fragment.exit_code == 0 and full.exit_code == 0, full.output
    assert params(full.stdout)["display"] == "Approach to organ under ultrasonic control"


# content errors and IPG_CONTENT


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    (tmp_path / "CodeSystem-broken.json").write_text("{ this is not json")
    return tmp_path


@pytest.mark.parametrize("command", [["content"], ["lookup", "opcs4", "J12"], ["expand", DIAGNOSES], ["serve"],
                                     ["validate-code", "--valueset", PROCEDURES, "J12.3"]])
def test_broken_content_file_exit_2_naming_the_file(runner: CliRunner, broken: Path, command: list[str]) -> None:
    result = run(runner, *command, "--content", str(broken))
    assert result.exit_code == 2
    assert "CodeSystem-broken.json" in result.stderr and "not valid JSON" in result.stderr


def test_ipg_content_env_is_used(runner: CliRunner, broken: Path, trud_content: Path) -> None:
    bad = run(runner, "content", env={"IPG_CONTENT": str(broken)})
    assert bad.exit_code == 2 and "CodeSystem-broken.json" in bad.stderr
    good = run(runner, "content", "--json", env={"IPG_CONTENT": os.pathsep.join([str(trud_content), ""])})
    assert good.exit_code == 0, good.output
    assert {cs["release"] for cs in orjson.loads(good.stdout)["codeSystems"]} == {"complete"}
    assert str(trud_content) in orjson.loads(good.stdout)["sources"]
    overridden = run(runner, "content", "--content", str(trud_content), env={"IPG_CONTENT": str(broken)})
    assert overridden.exit_code == 0, overridden.output


def test_version_and_help(runner: CliRunner) -> None:
    version = run(runner, "--version")
    assert version.exit_code == 0 and version.stdout.startswith("ipg-validator 0.")
    assert run(runner, "serve", "--help").exit_code == 0


def test_serve_loads_content_then_runs_uvicorn(runner: CliRunner, trud_content: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server_app = pytest.importorskip("ipg_validator.server.app")
    import uvicorn

    made: list[Any] = []
    ran: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(server_app, "create_app", lambda index=None, **kw: made.append(index) or "the-app")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append((app, kw)))
    result = run(runner, "serve", "--host", "0.0.0.0", "--port", "9999", "--log-level", "warning", "--workers", "1", "--content", str(trud_content))
    assert result.exit_code == 0, result.output
    assert [app for app, _ in ran] == ["the-app"]
    assert {k: ran[0][1][k] for k in ("host", "port", "log_level")} == {"host": "0.0.0.0", "port": 9999, "log_level": "warning"}
    assert str(trud_content) in made[0].sources and not made[0].code_system(OPCS4).is_fragment


# the installed console script


def test_console_script_acceptance() -> None:
    script = shutil.which("ipg-validator", path=os.path.dirname(sys.executable))
    assert script is not None, "the ipg-validator console script is not installed in this environment"
    env = {**os.environ, "COLUMNS": "250"}
    env.pop("IPG_CONTENT", None)
    done = subprocess.run([script, "validate-code", "--valueset", PROCEDURES, "J123"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout and "invalid" not in done.stdout
    assert "not in FHIR format" in done.stdout and "J12.3" in done.stdout
    assert "(OPCS-4) inferred from the value set" in done.stdout
