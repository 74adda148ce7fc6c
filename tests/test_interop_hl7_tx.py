"""The HL7 validator (org.hl7.fhir.validation 7.0.6, interop/hl7-validator ValidateTx) over examples/ with
`-version 4.0.1 -tx <ipg-validator serve> -ig <our package>`, offline.

`make interop-build` fills the validator's package cache: hl7.fhir.r4.core 4.0.1 written from Maven Central's
hapi-fhir-validation-resources-r4 (npm does not serve it), THO, the extensions pack and the cross-version
extensions from npm. Two runs, one JVM each:
- with the package `ipg-validator package --no-code-systems` writes for `-tx` use: the validator asks the server
  about every OPCS-4 and ICD-10 code, and its verdict and messages on each coded entry must be ours;
- with the default package (CodeSystem fragments inside): the validator checks those codes itself, asks the server
  only about systems it does not hold, and, by its design for fragments, never reports a code outside a value
  set; docs/clients.md says so and why `--no-code-systems` exists, and this run keeps that statement true.
Needs Java and the module built (Maven, npm): skipped with the reason without them, failed under CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import ICD10_UK, OPCS4, ROOT
from support.needs import missing
from support.server import logged_requests, script, serving
from support.verdicts import BOUND, coded_entries, doc_table, documented_table, expected_kind, our_answers, our_membership

TARGET = ROOT / "interop" / "hl7-validator" / "target"
JAR = TARGET / "hl7-validator.jar"
FHIR_HOME = TARGET / "fhir-home"
EXAMPLES = ROOT / "guidance" / "ipg672" / "examples"
CLIENTS_DOC = ROOT / "docs" / "clients.md"
VALIDATOR_VERSION = "7.0.6"
NOT_IN_VALUE_SET = "Terminology_TX_NoValid_1_CC"
RUN_TIMEOUT = 600
JVM_FLAGS = ["-XX:TieredStopAtLevel=1"]


HINT = "CI must run the HL7 validator (.ci/run installs Java, Maven and npm and runs make interop-build)"


def java() -> str:
    found = shutil.which("java")
    if found is None:
        missing("java is not installed (the HL7 validator runs on Java 17)", HINT)
    if not JAR.exists() or not (FHIR_HOME / ".fhir" / "packages" / "hl7.fhir.r4.core#4.0.1").is_dir():
        missing(f"the HL7 validator or its package cache is not built ({JAR.relative_to(ROOT)}, {FHIR_HOME.relative_to(ROOT)}): "
                 "run `make interop-build` (needs Maven and npm)", HINT)
    return str(found)


@dataclass(frozen=True)
class Run:
    report: dict[str, Any]
    requests: list[dict[str, Any]]  # the server's request log lines written while the validator ran
    base: str


def _run(servers: ExitStack, exe: str, tmp: Path, name: str, *package_args: str) -> Run:
    """One validator run against a server of its own (kept serving for the tests' own questions)."""
    made = subprocess.run([script(), "package", "--out", str(tmp / name), *package_args], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    package = next((tmp / name).glob("*.tgz"))
    log = tmp / f"{name}-access.log"
    base = servers.enter_context(serving(access_log=log))
    ran = subprocess.run(
        [exe, *JVM_FLAGS, f"-Duser.home={FHIR_HOME}", "-cp", f"{JAR}{os.pathsep}{TARGET / 'lib'}{os.sep}*",
         "org.ipgvalidator.interop.hl7.ValidateTx", base, str(package), str(tmp / f"{name}.json"), str(tmp / f"{name}-tx.log"), str(EXAMPLES)],
        capture_output=True, text=True, timeout=RUN_TIMEOUT,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    return Run(json.loads((tmp / f"{name}.json").read_text(encoding="utf-8")), logged_requests(log), base)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    exe = java()
    tmp = tmp_path_factory.mktemp("hl7-tx")
    with ExitStack() as servers:
        yield {"tx": _run(servers, exe, tmp, "tx", "--no-code-systems"), "fragments": _run(servers, exe, tmp, "fragments")}


def messages(result: dict[str, Any], entry: int) -> list[dict[str, Any]]:
    """The validator's messages on the entry's code, from its profile pass (dom-6, no narrative, left out)."""
    where = f"Bundle.entry[{entry}].resource.code"
    return [m for m in result["messages"] if m["pass"] != "bundle" and (m["location"] or "").startswith(where)
            and not str(m["message_id"]).endswith("#dom-6")]


def agrees(ours: str, member: bool, said: list[dict[str, Any]], codings: list[dict[str, Any]]) -> bool:
    """The validator's messages on one coded entry say what our kind of finding says."""
    ids = {m["message_id"] for m in said}
    errors = {m["message_id"] for m in said if m["severity"] in ("error", "fatal")}
    warnings = {m["message_id"] for m in said if m["severity"] == "warning"}
    if ours == "invalid":  # a category, a code with no system: an error, and not in the value set
        return bool(errors) and NOT_IN_VALUE_SET in errors
    if ours == "unknown":  # not in the loaded fragment: our warning, passed through, and not in the value set
        return "UNKNOWN_CODE_IN_FRAGMENT" in warnings and NOT_IN_VALUE_SET in errors
    if ours == "outside":
        return errors == {NOT_IN_VALUE_SET} and not member
    if ours == "display":
        return warnings == {"Display_Name_for__should_be_one_of__instead_of"} and not errors
    if ours == "alias":
        return warnings == {"SYSTEM_ALIAS"} and not errors
    if ours == "format":  # white space around a code is also a datatype error to the validator (FHIR's code regex)
        return warnings == {"NHS_CODE_FORMAT"} and errors <= {"Type_Specific_Checks_DT_Code_WS"}
    if ours == "beside":  # the server holds no SNOMED CT: its answer on the whole CodeableConcept is result=false
        unheld = {c["system"] for c in codings} - {OPCS4, ICD10_UK}
        return member and unheld and "UNKNOWN_CODESYSTEM" in warnings and NOT_IN_VALUE_SET in errors
    # a member with no terminology finding, or outside the set (an entry no guidance rule looks at, a SNOMED CT code)
    return (NOT_IN_VALUE_SET in ids) != member and (not member or not errors)


def rows(run: Run) -> list[dict[str, Any]]:
    out = []
    for path in sorted(EXAMPLES.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        bundle = json.loads(path.read_text(encoding="utf-8"))
        expected = json.loads(path.with_name(path.stem + ".expected.json").read_text(encoding="utf-8"))
        result = run.report["files"][path.name]
        for entry, kind, codings in coded_entries(bundle):
            ours = expected_kind(expected, entry)
            member = our_membership(run.base, BOUND[kind], codings)
            said = messages(result, entry)
            out.append({"example": path.stem, "entry": entry, "codes": [c.get("code") for c in codings], "ours": ours or ("in" if member else "out"),
                        "member": member, "said": said, "agree": agrees(ours, member, said, codings)})
    return out


def test_the_validator_with_our_server_gives_our_verdict_on_every_coded_entry(runs: dict[str, Run]) -> None:
    run = runs["tx"]
    assert run.report["validator_version"] == VALIDATOR_VERSION
    found = rows(run)
    assert {r["example"] for r in found} == {p.stem for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json")}
    kinds = Counter(r["ours"] for r in found)
    assert {"invalid", "unknown", "display", "outside", "alias", "format", "beside", "in", "out"} <= set(kinds), kinds
    disagree = [{k: v for k, v in r.items() if k != "member"} for r in found if not r["agree"]]
    assert not disagree, json.dumps(disagree, indent=1)


OUR_MESSAGE_IDS = {"SYSTEM_ALIAS", "NHS_CODE_FORMAT", "CATEGORY_NOT_RECORDABLE", "UNKNOWN_CODE_IN_FRAGMENT",
                   "Display_Name_for__should_be_one_of__instead_of"}


def hl7_label(message: dict[str, Any]) -> str:
    found = str(message["message_id"])
    name = "not in the value set" if found == NOT_IN_VALUE_SET else "the server's message" if found in OUR_MESSAGE_IDS else found.rsplit("#", 1)[-1]
    return f"{message['severity']}: {name}"


def test_docs_table_is_this_run(runs: dict[str, Run]) -> None:
    """docs/clients.md's per-example table is what the -tx run gave (on a mismatch the message is the new table)."""
    made = doc_table(rows(runs["tx"]), hl7_label)
    assert documented_table(CLIENTS_DOC.read_text(encoding="utf-8"), "hl7-tx") == made, "\n" + "\n".join(made)


def test_the_validator_shows_our_own_messages_on_the_codings(runs: dict[str, Run]) -> None:
    """Each message the validator took from our answer (our message ids) has the text our $validate-code gives
    (asked with displayLanguage=en, as the validator asks)."""
    run = runs["tx"]
    ours_ids = OUR_MESSAGE_IDS
    checked = Counter()
    for path in sorted(EXAMPLES.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        bundle = json.loads(path.read_text(encoding="utf-8"))
        for entry, kind, codings in coded_entries(bundle):
            texts = {i["details"]["text"] for answer in our_answers(run.base, BOUND[kind], codings, display_language="en")
                     for p in answer["parameter"] if p["name"] == "issues" for i in p["resource"]["issue"]}
            for message in messages(run.report["files"][path.name], entry):
                if message["message_id"] in ours_ids:
                    assert message["text"] in texts, (path.stem, entry, message, texts)
                    checked[message["message_id"]] += 1
    assert set(checked) == ours_ids, checked


def test_every_request_of_the_validator_was_answered(runs: dict[str, Run]) -> None:
    """No refusal of a well-meant request: 200, or 404 for $lookup of a code system the server does not hold."""
    for run in runs.values():
        statuses = Counter((line["method"], line["path"].rsplit("/", 1)[-1], line["status"]) for line in run.requests)
        assert statuses, "the validator sent no request"
        assert {s for (_, _, s) in statuses} <= {200, 404}, statuses
        assert all(op == "$lookup" for (_, op, s) in statuses if s == 404), statuses
    assert any(line["path"].endswith("/ValueSet/$validate-code") for line in runs["tx"].requests)


def test_the_server_is_refused_without_the_authorise_flag(runs: dict[str, Run]) -> None:
    """7.0.6 accepts a -tx server only if its CapabilityStatement claims the tx test-version feature."""
    report = runs["tx"].report
    assert report["accepted_without_flag"] is False
    assert "is not approved for use with this software" in report["without_flag"]
    assert "-authorise-non-conformant-tx-servers" in report["without_flag"]


def test_with_code_system_fragments_in_the_package_the_validator_checks_them_itself(runs: dict[str, Run]) -> None:
    """What docs/clients.md says of the default package: no question to the server about OPCS-4 or ICD-10 UK codes,
    and no 'not in the value set' for a fragment's code outside a set (J12.4, Y79.3, C78.0), where the run with
    the server reports each."""
    fragments, tx = runs["fragments"], runs["tx"]
    asked = [line for line in fragments.requests if line["path"].endswith("$validate-code")]
    assert len(asked) < len([line for line in tx.requests if line["path"].endswith("$validate-code")])
    outside = [r for r in rows(tx) if r["ours"] == "outside"]
    assert {c for r in outside for c in r["codes"]} >= {"J12.4", "Y79.3", "C78.0"}
    for row in outside:
        said = messages(fragments.report["files"][row["example"] + ".json"], row["entry"])
        assert NOT_IN_VALUE_SET not in {m["message_id"] for m in said}, (row, said)
    text = CLIENTS_DOC.read_text(encoding="utf-8")
    assert "--no-code-systems" in text and f"org.hl7.fhir.validation` **{VALIDATOR_VERSION}**" in text
