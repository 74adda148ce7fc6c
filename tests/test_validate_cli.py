"""`ipg-validator validate`: inputs, formats, thresholds, unreadable inputs, stdin, NDJSON, --server."""

from __future__ import annotations

import http.server
import io
import os
import shutil
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from typer.testing import CliRunner

from ipg_validator import validate_bundle
from ipg_validator.cli import validate as cli_validate
from ipg_validator.cli import app
from ipg_validator.content.index import ContentIndex
from ipg_validator.server import create_app
from conftest import ROOT
from support.server import free_port

EXAMPLES = ROOT / "guidance" / "ipg672" / "examples"
PROFILE = "https://ipg-validator.org/fhir/StructureDefinition/ipg672-encounter-bundle"
X65_TEXT = "Add OPCS-4 X65.3 Delivery of a fraction of interstitial radiotherapy"
WIDE = {"COLUMNS": "400"}

runner = CliRunner()


def run(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, ["validate", *args], input=input, env=env)


def ex(name: str) -> Path:
    return EXAMPLES / f"{name}.json"


def outcome(name: str, **kw: Any) -> dict[str, Any]:
    return validate_bundle(ex(name).read_bytes(), **kw)


def compact(name: str) -> bytes:
    return orjson.dumps(orjson.loads(ex(name).read_bytes()))


# --- table ------------------------------------------------------------------------------------


def test_table_shows_messages_severities_and_summaries() -> None:
    result = run(str(ex("missing-x65-3")), str(ex("sirt-primary-present")), env=WIDE)
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert X65_TEXT in out
    assert "Bundle.entry[2].resource" in out
    assert "error" in out and "information" in out
    assert "severity" in out and "expression" in out and "message" in out
    assert f"FAIL       {ex('missing-x65-3')}: 1 error, 0 warnings, 2 information" in out
    assert f"PASS       {ex('sirt-primary-present')}: 0 errors, 0 warnings, 2 information" in out
    assert "2 inputs: 1 passed, 1 failed, 0 unreadable" in out


def test_table_never_truncates() -> None:
    result = run(str(ex("missing-x65-3")), str(ex("sirt-nhs-formats")), env={"COLUMNS": "50"})
    assert result.exit_code == 1
    assert "…" not in result.stdout and "..." not in result.stdout
    words = set(result.stdout.replace("│", " ").split())
    # narrow columns wrap the text over lines, but every word is there in full
    for word in (X65_TEXT + " interstitial radiotherapy: with J12.3, PCSJ1 requires it").split():
        assert word in words, word
    assert "Bundle.entry[2" in result.stdout and "].resource" in result.stdout  # folded, not cut


def test_clean_input_exits_0() -> None:
    result = run(str(ex("sirt-primary-present")))
    assert result.exit_code == 0, result.output
    assert "1 input: 1 passed, 0 failed, 0 unreadable" in result.stdout


# --- json -------------------------------------------------------------------------------------


def test_json_single_is_the_outcome() -> None:
    result = run("--format", "json", str(ex("missing-x65-3")))
    assert result.exit_code == 1
    data = orjson.loads(result.stdout)
    OperationOutcome.model_validate(data)
    assert data == outcome("missing-x65-3")


def test_json_several_is_a_collection_bundle() -> None:
    names = ["missing-x65-3", "sirt-primary-present", "wrong-display"]
    result = run("--format", "json", *(str(ex(n)) for n in names))
    assert result.exit_code == 1
    data = orjson.loads(result.stdout)
    Bundle.model_validate(data)
    assert data["type"] == "collection"
    assert [e["fullUrl"] for e in data["entry"]] == [ex(n).resolve().as_uri() for n in names]
    assert [e["resource"] for e in data["entry"]] == [outcome(n) for n in names]


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = run("--format", "json", "--output", str(target), str(ex("missing-x65-3")))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert orjson.loads(target.read_bytes()) == outcome("missing-x65-3")
    table = tmp_path / "report.txt"
    assert run("--output", str(table), str(ex("missing-x65-3"))).exit_code == 1
    assert X65_TEXT in table.read_text()


# --- junit ------------------------------------------------------------------------------------


def test_junit(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    inputs = [ex("missing-x65-3"), ex("missing-companions"), ex("sirt-primary-present"), ex("wrong-display"), empty]
    result = run("--format", "junit", *(str(p) for p in inputs))
    assert result.exit_code == 2
    suite = ET.fromstring(result.stdout_bytes)
    assert suite.tag == "testsuite"
    assert suite.attrib["tests"] == "5"
    assert suite.attrib["failures"] == "2"
    assert suite.attrib["errors"] == "1"
    cases = suite.findall("testcase")
    assert [c.attrib["name"] for c in cases] == [str(p) for p in inputs]
    assert {c.attrib["classname"] for c in cases} == {"ipg-validator"}
    failures = {c.attrib["name"]: c.find("failure") for c in cases}
    assert failures[str(ex("sirt-primary-present"))] is None
    assert failures[str(ex("wrong-display"))] is None
    missing = failures[str(ex("missing-x65-3"))]
    assert missing is not None and X65_TEXT in (missing.text or "")
    assert "Bundle.entry[2].resource" in (missing.text or "")
    companions = failures[str(ex("missing-companions"))]
    assert companions is not None and len((companions.text or "").splitlines()) == 3
    error = cases[-1].find("error")
    assert error is not None and "empty" in error.attrib["message"]


def test_junit_fail_on_warning(tmp_path: Path) -> None:
    target = tmp_path / "junit.xml"
    result = run("--format", "junit", "--fail-on", "warning", "--output", str(target), str(ex("wrong-display")), str(ex("sirt-primary-present")))
    assert result.exit_code == 1
    suite = ET.parse(target).getroot()
    assert (suite.attrib["tests"], suite.attrib["failures"], suite.attrib["errors"]) == ("2", "1", "0")
    failure = suite.find("testcase/failure")
    assert failure is not None and (failure.text or "").startswith("WARNING ")


def test_junit_failure_message_counts_as_the_table_does() -> None:
    """y-code-first has an error and a warning: the JUnit message and the table line say the same counts."""
    table = run(str(ex("y-code-first")), env=WIDE)
    assert f"FAIL       {ex('y-code-first')}: 1 error, 1 warning, 2 information" in table.stdout
    failure = ET.fromstring(run("--format", "junit", str(ex("y-code-first"))).stdout_bytes).find("testcase/failure")
    assert failure is not None and failure.attrib["message"] == "1 error, 1 warning, 2 information"
    assert [line.split()[0] for line in (failure.text or "").splitlines()] == ["ERROR"]  # the findings at --fail-on


def test_piped_table_is_not_wrapped(tmp_path: Path) -> None:
    """Not a terminal (CliRunner, a pipe, --output): every row on one line, expressions and URLs whole."""
    for result, text in ((run(str(ex("wrong-display")), env={"COLUMNS": "80"}), None),
                         (run("--output", str(tmp_path / "t.txt"), str(ex("wrong-display"))), tmp_path / "t.txt")):
        out = result.stdout if text is None else text.read_text(encoding="utf-8")
        row = next(line for line in out.splitlines() if "Wrong Display Name" in line)
        assert "Bundle.entry[3].resource.code.coding[0].display" in row
        assert "http://fhir.hl7.org.uk/CodeSystem/OPCS-4#X65.3. Valid display is 'Delivery of a fraction of interstitial radiotherapy'" in row
        assert len(row) > 200


# --- --fail-on, --profile, --no-structure ------------------------------------------------------


def test_fail_on_warning() -> None:
    warned = outcome("wrong-display")
    assert {i["severity"] for i in warned["issue"]} == {"warning", "information"}
    assert run(str(ex("wrong-display"))).exit_code == 0
    assert run("--fail-on", "warning", str(ex("wrong-display"))).exit_code == 1
    assert run("--fail-on", "warning", str(ex("sirt-primary-present"))).exit_code == 0


def test_profile() -> None:
    assert run(str(ex("two-encounters"))).exit_code == 0
    result = run("--profile", PROFILE, "--format", "json", str(ex("two-encounters")))
    assert result.exit_code == 1
    assert orjson.loads(result.stdout) == outcome("two-encounters", profile=PROFILE)


def test_no_structure(tmp_path: Path) -> None:
    bundle = orjson.loads(ex("sirt-primary-present").read_bytes())
    bundle["entry"][0]["resource"]["birthDate"] = "not-a-date"
    path = tmp_path / "bad-date.json"
    path.write_bytes(orjson.dumps(bundle))
    checked = run("--format", "json", str(path))
    assert checked.exit_code == 1
    assert any("not-a-date" in i["details"]["text"] for i in orjson.loads(checked.stdout)["issue"])
    skipped = run("--format", "json", "--no-structure", str(path))
    assert skipped.exit_code == 0
    assert orjson.loads(skipped.stdout) == validate_bundle(bundle, structure=False)


def test_content_option(index: ContentIndex) -> None:
    assert run("--content", str(ROOT / "valuesets"), str(ex("sirt-primary-present"))).exit_code == 0
    broken = run("--content", str(ROOT / "no-such-folder"), str(ex("sirt-primary-present")))
    assert broken.exit_code == 2


# --- folders and unreadable inputs ------------------------------------------------------------


@pytest.fixture()
def messy(tmp_path: Path) -> Path:
    root = tmp_path / "feed"
    (root / "sub").mkdir(parents=True)
    shutil.copy(ex("sirt-primary-present"), root / "a-good.json")
    shutil.copy(ex("missing-x65-3"), root / "sub" / "b-missing.json")
    shutil.copy(EXAMPLES / "missing-x65-3.expected.json", root / "c.expected.json")
    (root / "d-dir.json").mkdir()
    (root / "e-binary.json").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00")
    (root / "f-empty.json").write_bytes(b"")
    (root / "g-notjson.json").write_text("this is not JSON\n")
    (root / "h-readme.txt").write_text("not an input")
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    return root


def test_folder_reports_every_unreadable_input(messy: Path) -> None:
    result = run("--format", "json", str(messy))
    assert result.exit_code == 2, result.output
    data = orjson.loads(result.stdout)
    Bundle.model_validate(data)
    by_url = {e["fullUrl"]: e["resource"] for e in data["entry"]}

    def text(path: Path) -> str:
        return " ".join(i["details"]["text"] for i in by_url[path.resolve().as_uri()]["issue"])

    assert by_url[(messy / "a-good.json").resolve().as_uri()] == outcome("sirt-primary-present")
    assert by_url[(messy / "sub" / "b-missing.json").resolve().as_uri()] == outcome("missing-x65-3")
    assert (messy / "c.expected.json").resolve().as_uri() not in by_url  # not a FHIR resource: skipped, said on stderr
    assert f"skipped {messy / 'c.expected.json'}: not a FHIR resource (JSON without a resourceType)" in result.stderr
    assert "directory" in text(messy / "d-dir.json")
    assert "not UTF-8" in text(messy / "e-binary.json")
    assert "empty" in text(messy / "f-empty.json")
    assert "not JSON" in text(messy / "g-notjson.json")
    loop = Path(os.path.abspath(messy / "sub" / "loop")).as_uri()
    assert "directory loop" in " ".join(i["details"]["text"] for i in by_url[loop]["issue"])
    assert not any("h-readme" in url for url in by_url)
    for path in ("d-dir.json", "e-binary.json", "f-empty.json", "g-notjson.json"):
        assert by_url[(messy / path).resolve().as_uri()]["issue"][0]["severity"] == "fatal"


def test_folder_table(messy: Path) -> None:
    result = run(str(messy), env=WIDE)
    assert result.exit_code == 2
    out = result.stdout
    assert f"PASS       {messy / 'a-good.json'}" in out
    assert f"FAIL       {messy / 'sub' / 'b-missing.json'}" in out
    assert f"{messy / 'c.expected.json'}" not in out
    assert result.stderr.count("skipped ") == 1
    for name in ("d-dir.json", "e-binary.json", "f-empty.json", "g-notjson.json"):
        assert f"UNREADABLE {messy / name}" in out
    assert f"UNREADABLE {messy / 'sub' / 'loop'}" in out
    assert "7 inputs: 1 passed, 1 failed, 5 unreadable (1 file skipped: not FHIR resources)" in out


def test_folder_sorted_and_exclude(messy: Path) -> None:
    for bad in ("d-dir.json", "e-binary.json", "f-empty.json", "g-notjson.json"):
        path = messy / bad
        path.rmdir() if path.is_dir() else path.unlink()
    (messy / "sub" / "loop").unlink()
    result = run("--format", "junit", str(messy))
    names = [c.attrib["name"] for c in ET.fromstring(result.stdout_bytes).findall("testcase")]
    assert names == [str(messy / "a-good.json"), str(messy / "sub" / "b-missing.json"), str(messy / "c.expected.json")]
    assert result.exit_code == 1
    excluded = run("--format", "junit", "--exclude", "*.expected.json", "--exclude", "sub/*", str(messy))
    assert excluded.exit_code == 0
    assert [c.attrib["name"] for c in ET.fromstring(excluded.stdout_bytes).findall("testcase")] == [str(messy / "a-good.json")]


def test_examples_folder_validates_the_bundles_and_skips_the_outcome_files() -> None:
    """The README's `validate examples/`: each Bundle validated, each *.expected.json skipped in one line."""
    bundles = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json"))
    outcomes = sorted(EXAMPLES.glob("*.expected.json"))
    table = run(str(EXAMPLES), env=WIDE)
    assert table.exit_code == 1  # the broken examples fail
    failing = [p for p in bundles if not orjson.loads(p.with_suffix(".expected.json").read_bytes())["conforms"]]
    summary = f"{len(bundles)} inputs: {len(bundles) - len(failing)} passed, {len(failing)} failed, 0 unreadable ({len(outcomes)} files skipped: not FHIR resources)"
    assert summary in table.stdout
    assert table.stderr.splitlines() == [f"skipped {p}: not a FHIR resource (JSON without a resourceType)" for p in outcomes]
    junit = ET.fromstring(run("--format", "junit", str(EXAMPLES)).stdout_bytes)
    assert (junit.attrib["tests"], junit.attrib["skipped"]) == (str(len(bundles) + len(outcomes)), str(len(outcomes)))
    skipped = [c.attrib["name"] for c in junit.findall("testcase") if c.find("skipped") is not None]
    assert skipped == [str(p) for p in outcomes]
    only_bundles = run("--format", "junit", "--exclude", "*.expected.json", str(EXAMPLES))
    assert ET.fromstring(only_bundles.stdout_bytes).attrib["skipped"] == "0" and only_bundles.stderr == ""


def test_a_non_fhir_file_named_on_the_command_line_is_validated_and_refused() -> None:
    result = run(str(EXAMPLES / "missing-x65-3.expected.json"), env=WIDE)
    assert result.exit_code == 1
    assert "FAIL       " in result.stdout and "skipped" not in result.stderr


def test_missing_path_is_reported(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nope.json"), str(ex("sirt-primary-present")), env=WIDE)
    assert result.exit_code == 2
    assert f"UNREADABLE {tmp_path / 'nope.json'}: no such file" in result.stdout


def test_errors_win_over_findings(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{")
    assert run(str(tmp_path / "x.json"), str(ex("missing-x65-3"))).exit_code == 2


def test_usage_problems_exit_2(tmp_path: Path) -> None:
    assert run("--format", "xml", str(ex("sirt-primary-present"))).exit_code == 2
    assert run("--fail-on", "information", str(ex("sirt-primary-present"))).exit_code == 2
    assert run().exit_code == 2
    assert run("-", "-", input=b"{}").exit_code == 2
    assert run(str(tmp_path)).exit_code == 2  # an empty folder: no inputs
    assert run("--server", "http://127.0.0.1:9", "--no-structure", str(ex("sirt-primary-present"))).exit_code == 2


# --- NDJSON and stdin -------------------------------------------------------------------------


def test_ndjson_three_bundles(tmp_path: Path) -> None:
    path = tmp_path / "feed.ndjson"
    path.write_bytes(b"\n".join([compact("missing-x65-3"), b"", compact("sirt-primary-present"), compact("wrong-display")]) + b"\n")
    result = run("--format", "json", str(path))
    assert result.exit_code == 1
    data = orjson.loads(result.stdout)
    uri = path.resolve().as_uri()
    assert [e["fullUrl"] for e in data["entry"]] == [f"{uri}#line=1", f"{uri}#line=3", f"{uri}#line=4"]
    assert [e["resource"] for e in data["entry"]] == [outcome("missing-x65-3"), outcome("sirt-primary-present"), outcome("wrong-display")]
    junit = ET.fromstring(run("--format", "junit", str(path)).stdout_bytes)
    assert [c.attrib["name"] for c in junit.findall("testcase")] == [f"{path}:1", f"{path}:3", f"{path}:4"]


def test_ndjson_bad_line_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "feed.ndjson"
    path.write_bytes(compact("sirt-primary-present") + b"\n{broken\n")
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"\n\n")
    result = run(str(path), str(empty), env=WIDE)
    assert result.exit_code == 2
    assert f"PASS       {path}:1" in result.stdout
    assert f"UNREADABLE {path}:2: not JSON" in result.stdout
    assert f"UNREADABLE {empty}: empty" in result.stdout


def test_stdin_json() -> None:
    result = run("--format", "json", "-", input=ex("missing-x65-3").read_bytes())
    assert result.exit_code == 1
    assert orjson.loads(result.stdout) == outcome("missing-x65-3")
    table = run("-", input=ex("sirt-primary-present").read_bytes(), env=WIDE)
    assert table.exit_code == 0
    assert "PASS       <stdin>" in table.stdout


def test_stdin_ndjson_and_files_together() -> None:
    feed = compact("missing-x65-3") + b"\n" + compact("sirt-primary-present") + b"\n"
    result = run("--format", "json", "-", str(ex("wrong-display")), input=feed)
    assert result.exit_code == 1
    data = orjson.loads(result.stdout)
    assert [e["fullUrl"] for e in data["entry"]] == ["urn:stdin#line=1", "urn:stdin#line=2", ex("wrong-display").resolve().as_uri()]
    assert data["entry"][0]["resource"] == outcome("missing-x65-3")


def test_stdin_empty_and_not_json() -> None:
    assert run("-", input=b"").exit_code == 2
    result = run("--format", "json", "-", input=b"\xff\xfe")
    assert result.exit_code == 2
    data = orjson.loads(result.stdout)
    assert "not UTF-8" in data["issue"][0]["details"]["text"]


# --- progress ---------------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_for_many_inputs_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _Tty()
    monkeypatch.setattr(cli_validate.sys, "stderr", tty)
    few = [cli_validate.Input(f"i{n}", f"urn:i{n}") for n in range(20)]
    assert list(cli_validate._progress(few)) == few
    assert tty.getvalue() == ""
    many = [cli_validate.Input(f"i{n}", f"urn:i{n}") for n in range(21)]
    assert list(cli_validate._progress(many)) == many
    assert "validating" in tty.getvalue()
    monkeypatch.setattr(cli_validate.sys, "stderr", io.StringIO())
    assert list(cli_validate._progress(many)) == many


# --- --server ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(index: ContentIndex) -> Iterator[str]:
    """The real application over HTTP, on a thread."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(index), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/fhir"
    finally:
        srv.should_exit = True
        thread.join(10)


def test_server_gives_the_same_outcome(server: str) -> None:
    names = ["missing-x65-3", "sirt-primary-present"]
    result = run("--server", server, "--format", "json", *(str(ex(n)) for n in names))
    assert result.exit_code == 1, result.output
    data = orjson.loads(result.stdout)
    assert [e["resource"] for e in data["entry"]] == [outcome(n) for n in names]
    with_profile = run("--server", server + "/", "--profile", PROFILE, "--format", "json", str(ex("two-encounters")))
    assert orjson.loads(with_profile.stdout) == outcome("two-encounters", profile=PROFILE)


def test_server_ndjson_and_unreadable(server: str, tmp_path: Path) -> None:
    path = tmp_path / "feed.ndjson"
    path.write_bytes(compact("sirt-primary-present") + b"\n" + compact("wrong-display") + b"\n")
    (tmp_path / "bad.json").write_text("nope")
    result = run("--server", server, "--fail-on", "warning", str(path), str(tmp_path / "bad.json"), env=WIDE)
    assert result.exit_code == 2
    assert f"PASS       {path}:1" in result.stdout
    assert f"FAIL       {path}:2" in result.stdout
    assert f"UNREADABLE {tmp_path / 'bad.json'}: not JSON" in result.stdout


def test_server_not_reachable() -> None:
    result = run("--server", f"http://127.0.0.1:{free_port()}/fhir", "--format", "json", str(ex("sirt-primary-present")))
    assert result.exit_code == 2
    issue = orjson.loads(result.stdout)["issue"][0]
    assert issue["severity"] == "fatal" and "cannot reach" in issue["details"]["text"]


@pytest.fixture()
def not_fhir() -> Iterator[str]:
    """A web server that answers everything with an HTML page."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length", 0)))
            body = b"<html><body>hello</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/fhir"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_server_answer_that_is_not_fhir(not_fhir: str) -> None:
    result = run("--server", not_fhir, str(ex("sirt-primary-present")), env=WIDE)
    assert result.exit_code == 2
    assert "without an OperationOutcome" in result.stdout
    assert "UNREADABLE" in result.stdout


def test_server_refusal_is_reported(server: str, tmp_path: Path) -> None:
    # the server answers 400 with an OperationOutcome: a FHIR answer, reported as findings
    path = tmp_path / "blank.ndjson"
    path.write_bytes(b"   \n")
    assert run("--server", server, str(path)).exit_code == 2  # empty NDJSON never reaches the server
    result = run("--server", server.rsplit("/fhir", 1)[0] + "/nowhere", "--format", "json", str(ex("sirt-primary-present")))
    assert result.exit_code == 1
    assert orjson.loads(result.stdout)["issue"][0]["severity"] == "error"


def test_existing_commands_still_work() -> None:
    assert runner.invoke(app, ["lookup", "opcs4", "J12.3"]).exit_code == 0
    assert runner.invoke(app, ["validate-code", "--valueset", "ipg672-procedures", "J12.3"]).exit_code == 0
    assert "validate" in runner.invoke(app, ["--help"]).stdout
