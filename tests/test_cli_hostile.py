"""`ipg-validator validate` on a folder of hostile files: unreadable, empty, binary, huge, nested,
duplicate keys, BOM, NDJSON with bad lines. Each file is reported, none skipped, and the exit code
is the documented one (0 clean, 1 findings at or above --fail-on, 2 an unreadable input; 2 wins)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from ipg_validator.cli import app
from conftest import ROOT

runner = CliRunner()
OPCS4 = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
CLEAN = ROOT / "guidance" / "ipg672" / "examples" / "sirt-primary-c19.json"


def run(*args: str) -> Any:
    return runner.invoke(app, ["validate", *args], env={"COLUMNS": "400"})


def report(folder: Path, *extra: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """The exit code and each input's OperationOutcome, by the file name the report gives it."""
    result = run(str(folder), "--format", "json", *extra)
    out = orjson.loads(result.stdout)
    entries = out["entry"] if out["resourceType"] == "Bundle" else [{"fullUrl": "", "resource": out}]
    return result.exit_code, {e["fullUrl"].rsplit("/", 1)[-1]: e["resource"] for e in entries}


def texts(outcome: dict[str, Any]) -> str:
    return " ".join(i["details"]["text"] for i in outcome["issue"])


@pytest.fixture()
def hostile(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(CLEAN, folder / "clean.json")
    (folder / "empty.json").write_bytes(b"")
    (folder / "blank.json").write_bytes(b"  \n\t\n")
    (folder / "binary.json").write_bytes(bytes(range(256)) * 8)
    (folder / "truncated.json").write_bytes(CLEAN.read_bytes()[:200])
    (folder / "deep.json").write_bytes(b"[" * 10_000 + b"]" * 10_000)
    (folder / "duplicate.json").write_bytes(b'{"resourceType":"Bundle","type":"collection","type":"batch"}')
    (folder / "bom.json").write_bytes(b"\xef\xbb\xbf" + CLEAN.read_bytes())
    (folder / "patient.json").write_bytes(b'{"resourceType":"Patient"}')
    (folder / "array.json").write_bytes(b"[1, 2, 3]")
    (folder / "lines.ndjson").write_bytes(orjson.dumps(orjson.loads(CLEAN.read_bytes())) + b"\n{broken\n\n" + b'{"resourceType":"Bundle","type":"collection"}\n')
    codings = [{"system": OPCS4, "code": f"X{n % 100:02d}.{n % 10}"} for n in range(10_000)]
    huge = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Procedure", "status": "completed", "code": {"coding": codings}}},
        {"fullUrl": "urn:uuid:q", "resource": {"resourceType": "Basic", "id": "x" * 2_000_000}}]}
    (folder / "huge.json").write_bytes(orjson.dumps(huge))
    unreadable = folder / "unreadable.json"
    unreadable.write_bytes(CLEAN.read_bytes())
    unreadable.chmod(0)
    (folder / "sub").mkdir()
    (folder / "sub" / "nested.json").write_bytes(CLEAN.read_bytes())
    (folder / "folder.json").mkdir()
    (folder / "notes.txt").write_text("not an input: only *.json and *.ndjson are read")
    os.symlink(folder / "nowhere.json", folder / "dangling.json")
    return folder


UNREADABLE = {
    "empty.json": "empty", "blank.json": "empty", "binary.json": "not UTF-8", "truncated.json": "not JSON",
    "deep.json": "not JSON", "duplicate.json": "'type' more than once", "folder.json": "is a directory",
    "dangling.json": "no such file",
}


def test_every_file_reported_none_skipped_silently(hostile: Path) -> None:
    can_read_anyway = os.access(hostile / "unreadable.json", os.R_OK)  # root reads mode-0 files
    code, outcomes = report(hostile)
    assert code == 2
    # JSON that is not a FHIR resource, found in a folder, is skipped and said so on stderr
    assert run(str(hostile), "--format", "json").stderr.splitlines() == [
        f"skipped {hostile / 'array.json'}: not a FHIR resource (JSON without a resourceType)"]
    expected = {"clean.json", "bom.json", "patient.json", "huge.json", "unreadable.json", "nested.json", *UNREADABLE,
                *(f"lines.ndjson#line={n}" for n in (1, 2, 4))}
    assert set(outcomes) == expected
    for name, words in UNREADABLE.items():
        outcome = outcomes[name]
        assert outcome["issue"][0]["severity"] == "fatal" and words in texts(outcome), (name, texts(outcome))
    if not can_read_anyway:
        assert "cannot read" in texts(outcomes["unreadable.json"])
    assert "not JSON" in texts(outcomes["lines.ndjson#line=2"])
    assert outcomes["bom.json"] == outcomes["clean.json"] == outcomes["nested.json"]
    assert outcomes["patient.json"]["issue"][0]["severity"] == "error"
    huge = outcomes["huge.json"]
    # no message echoes the 2 MB id; the summary lists every one of the 10,000 codes, by design
    assert all(len(i["details"]["text"]) < 20_000 for i in huge["issue"] if i["details"]["coding"][0]["code"] != "ipg672-summary")
    assert any("Bundle.entry[1].resource.id" in i.get("expression", [""])[0] for i in huge["issue"])


def test_table_lists_each_input_and_the_counts(hostile: Path) -> None:
    result = run(str(hostile))
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    summary = [line for line in lines if line.startswith(("PASS", "FAIL", "UNREADABLE"))]
    assert len(summary) == 17
    assert sum(line.startswith("UNREADABLE") for line in summary) == len(UNREADABLE) + 1 + (0 if os.access(hostile / "unreadable.json", os.R_OK) else 1)
    assert any(line.startswith("17 inputs:") and line.endswith("(1 file skipped: not FHIR resources)") for line in lines)


def test_junit_has_a_testcase_per_input(hostile: Path) -> None:
    result = run(str(hostile), "--format", "junit")
    assert result.exit_code == 2
    assert result.stdout.count("<testcase ") == 18 and 'skipped="1"' in result.stdout


@pytest.mark.parametrize("files,code", [
    ({"a.json": CLEAN.read_bytes()}, 0),
    ({"a.json": b'{"resourceType":"Patient"}'}, 1),
    ({"a.json": CLEAN.read_bytes(), "b.json": b""}, 2),
    ({"a.json": b'{"resourceType":"Patient"}', "b.json": b"\xff"}, 2),
])
def test_exit_codes_as_documented(tmp_path: Path, files: dict[str, bytes], code: int) -> None:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    assert run(str(tmp_path)).exit_code == code


def test_empty_folder_is_a_usage_problem(tmp_path: Path) -> None:
    result = run(str(tmp_path))
    assert result.exit_code == 2 and "no inputs" in result.output
