"""`ipg-validator bulk`: FHIR Bulk Data exports validated encounter by encounter with the embedded engine.

The findings on every example's encounters are those `Bundle/$validate` gives, computed here at test
time, for the same encounter put in a Bundle; nothing in an export is dropped without a report."""

from __future__ import annotations

import gzip
import io
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import orjson
import pytest
from ipg_validator.bulk.export import ExportError, discover
from ipg_validator.bulk.judge import FILE_EXTENSION, LINE_EXTENSION, SOURCE_EXTENSION, Judged
from ipg_validator.bulk.run import Options, Summary, run_export
from ipg_validator.cli import app
from ipg_validator.fhir.validate_op import validate_operation
from support.bulk_export import example_resources, synthetic, write_export
from support.bulk_oracle import bulk_issues, encounter_bundles, expected_issues, export_places
from typer.testing import CliRunner

from conftest import ROOT

EXAMPLES = sorted(p for p in (ROOT / "guidance" / "ipg672" / "examples").glob("*.json") if not p.name.endswith(".expected.json"))


def run(path: Path, index: Any, collect: bool = True, **options: Any) -> tuple[Summary, list[dict[str, Any]], list[Judged]]:
    out, judged = io.BytesIO(), []
    summary = run_export(path, out, index, Options(**options), on_judged=judged.append if collect else None, keep_failing=5)
    return summary, [orjson.loads(line) for line in out.getvalue().splitlines()], judged


def source(outcome: dict[str, Any]) -> dict[str, Any]:
    return next(e["valueReference"] for e in outcome["extension"] if e["url"] == SOURCE_EXTENSION)


def place(issue: dict[str, Any]) -> tuple[str, int]:
    ext = {e["url"]: e for e in issue["extension"]}
    return ext[FILE_EXTENSION]["valueString"], ext[LINE_EXTENSION]["valueInteger"]


@pytest.fixture(scope="module")
def example_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    resources = [r for _, _, r in example_resources((p.stem, orjson.loads(p.read_bytes())) for p in EXAMPLES)]
    folder = write_export(tmp_path_factory.mktemp("examples-export"), resources)  # one file per type: the examples' order is the export's
    return folder, resources


@pytest.mark.parametrize("structure", [False, True], ids=["codings-and-rules", "with-structure"])
def test_every_example_encounter_gets_what_bundle_validate_gives(example_export: Any, index: Any, client: Any, structure: bool) -> None:
    folder, resources = example_export
    summary, outcomes, _ = run(folder, index, structure=structure)
    by_group = {source(o).get("reference") or source(o)["display"]: o for o in outcomes}
    if structure:  # the HTTP operation itself, which always checks structure
        validate = lambda bundle: client.post("/fhir/Bundle/$validate", content=orjson.dumps(bundle), headers={"Content-Type": "application/fhir+json"}).json()  # noqa: E731
    else:
        validate = lambda bundle: validate_operation(index, bundle, "Bundle", structure=False)  # noqa: E731
    groups, places = encounter_bundles(resources), export_places(folder)
    assert len(groups) == len(outcomes) == summary.outcomes
    assert summary.encounters == sum(1 for r in resources if r["resourceType"] == "Encounter")
    for name, members in groups:
        assert name in by_group, f"no OperationOutcome for {name}"
        assert bulk_issues(by_group[name]) == expected_issues(name, members, validate, places), name
    assert summary.sirt >= 20 and summary.failing >= 10  # the examples hold valid and broken SIRT encounters


def test_each_issue_names_the_file_and_line_of_its_resource(example_export: Any, index: Any) -> None:
    folder, _ = example_export
    _, outcomes, judged = run(folder, index)
    lines = {}
    for file in discover(folder):
        for n, text in enumerate(file.path.read_bytes().splitlines(), 1):
            r = orjson.loads(text)
            lines[(file.name, n)] = f"{r['resourceType']}/{r['id']}"
    for group in judged:
        for f in group.findings:
            assert lines[(f.file, f.line)] == f.resource
            assert f.expression.split(".")[0].split(",")[0] == f.resource.split("/")[0]
    for outcome in outcomes:
        for issue in outcome["issue"]:
            assert place(issue) in lines


def test_nothing_in_an_export_is_lost(tmp_path: Path, index: Any) -> None:
    def j(r: dict[str, Any]) -> bytes:
        return orjson.dumps(r)

    enc = {"resourceType": "Encounter", "id": "e1", "status": "finished", "subject": {"reference": "Patient/pat1"},
           "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
           "diagnosis": [{"condition": {"reference": "Condition/c1"}, "rank": 1}]}
    def proc(pid: str, code: str, encounter: str | None) -> dict[str, Any]:
        r = {"resourceType": "Procedure", "id": pid, "status": "completed", "subject": {"reference": "Patient/pat1"},
             "code": {"coding": [{"system": "http://fhir.hl7.org.uk/CodeSystem/OPCS-4", "code": code}]}}
        return {**r, "encounter": {"reference": encounter}} if encounter else r
    (tmp_path / "Encounter.ndjson").write_bytes(b"\n".join([j(enc), b"", b"not json", b'{"id": "x"}', b'{"resourceType": "Foo"}']) + b"\n")
    with gzip.open(tmp_path / "Procedure.000.ndjson.gz", "wb") as fh:
        fh.write(b"\n".join([j(proc("p1", "X65.3", "Encounter/e1")), j(proc("p2", "J12.3", "Encounter/missing")), j(proc("p3", "Y53.4", None))]) + b"\n")
    cond = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/pat1"}, "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-uk", "code": "C78.7"}]}}
    (tmp_path / "Procedure.001.ndjson").write_bytes(j(proc("p4", "J12.3", "Encounter/e1")) + b"\n" + j({**cond, "id": "c2", "encounter": {"reference": "Encounter/e1"}}) + b"\n")
    (tmp_path / "Condition.ndjson").write_bytes(b'{"resourceType": "Condition", "id": "\xff"}\n' + j(cond) + b"\n")
    (tmp_path / "Observation.ndjson").write_bytes(j({"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"}}) + b"\n")
    (tmp_path / "Patient.ndjson").write_bytes(j({"resourceType": "Patient", "id": "pat1"}) + b"\n")

    summary, outcomes, judged = run(tmp_path, index)
    loaded = summary.loaded
    assert (loaded.blank, loaded.dangling, summary.unreadable, summary.encounters, summary.alone) == (1, 1, 4, 1, 2)
    assert loaded.kinds["Observation"] == 1 and loaded.kinds["Foo"] == 1
    assert loaded.mismatched == ["Encounter.ndjson: 1 line not Encounter (first at line 5), read as the type they name",
                                 "Procedure.001.ndjson: 1 line not Procedure (first at line 2), read as the type they name"]
    unreadable = {source(o)["display"]: o["issue"][0]["details"]["text"] for o in outcomes[:4]}
    assert set(unreadable) == {"Condition.ndjson line 1", "Encounter.ndjson line 3", "Encounter.ndjson line 4", "Encounter.ndjson line 5"}
    assert "not UTF-8" in unreadable["Condition.ndjson line 1"] and "not valid JSON" in unreadable["Encounter.ndjson line 3"]
    assert "'Foo' is not a FHIR R4 resource type" in unreadable["Encounter.ndjson line 5"]
    groups = {g.group: g for g in judged}
    summary_text = next(f.text for f in groups["Encounter/e1"].findings if f.rule == "ipg672-summary")
    assert "procedures X65.3 J12.3; diagnoses C78.7 C78.7" in summary_text  # p1, p4 across two files; c1 listed in diagnosis, c2 by its reference
    assert groups["Encounter/e1"].applies  # J12.3 in it: the IPG672 rules ran
    dangling = [f for f in groups["Procedure/p2"].findings if f.rule == "ipg672-unresolved-reference"]
    assert [(f.file, f.line, f.expression) for f in dangling] == [("Procedure.000.ndjson.gz", 2, "Procedure.encounter")]
    assert any(f.rule == "ipg672-no-encounter" for f in groups["Procedure/p3"].findings)
    assert summary.outcomes == 4 + 1 + 2 == len(outcomes)


def test_the_manifest_names_the_files(tmp_path: Path, index: Any) -> None:
    manifest = write_export(tmp_path / "x", synthetic(40), files_per_type=3, gz=True, manifest=True)
    by_manifest, outcomes, _ = run(manifest, index)
    by_folder, again, _ = run(manifest.parent, index)
    assert by_manifest.encounters == 40 and len(by_manifest.files) == 12
    assert outcomes == again
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps({"output": [{"type": "Patient", "url": "https://server.example/files/1.ndjson"}]}))
    with pytest.raises(ExportError, match="not a local file"):
        discover(bad)
    bad.write_bytes(orjson.dumps({"output": [{"type": "Patient", "url": "gone.ndjson"}]}))
    with pytest.raises(ExportError, match="no such file"):
        discover(bad)


def test_worker_processes_give_the_same_output(tmp_path: Path, index: Any) -> None:
    folder = write_export(tmp_path, synthetic(700, sirt_share=0.05), files_per_type=2)
    alone, one, _ = run(folder, index, workers=1)
    pooled, two, _ = run(folder, index, collect=False, workers=2, memory_limit="64MB")  # workers send back only what is written
    assert one == two and alone.findings == pooled.findings and alone.sirt == pooled.sirt > 10
    assert alone.worst == pooled.worst and len(pooled.worst) == 5


def test_the_command_writes_ndjson_a_summary_and_junit(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export", synthetic(30, sirt_share=0.5, seed=3))
    out, junit = tmp_path / "out.ndjson", tmp_path / "junit.xml"
    result = CliRunner().invoke(app, ["bulk", str(folder), "--output", str(out), "--junit", str(junit)])
    assert result.exit_code == 1, result.output  # the synthetic SIRT encounters include miscoded ones
    assert "encounters the IPG672 rules applied to" in result.output and "ipg672-summary" in result.output
    assert len(out.read_bytes().splitlines()) == 30
    suite = ET.parse(junit).getroot()
    assert int(suite.get("failures", "0")) >= 1 and suite.find("testcase/failure") is not None
    clean = write_export(tmp_path / "clean", synthetic(5, sirt_share=0.0))
    assert CliRunner().invoke(app, ["bulk", str(clean), "--output", str(tmp_path / "c.ndjson")]).exit_code == 0
    assert CliRunner().invoke(app, ["bulk", str(clean), "--output", str(tmp_path / "c.ndjson"), "--fail-on", "warning"]).exit_code == 1
    with (clean / "Encounter.000.ndjson").open("ab") as handle:
        handle.write(b"{oops\n")
    assert CliRunner().invoke(app, ["bulk", str(clean), "--output", str(tmp_path / "c.ndjson")]).exit_code == 2
    missing = CliRunner().invoke(app, ["bulk", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
