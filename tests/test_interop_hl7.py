"""The HL7 validator's own terminology test runner (TxTester of org.hl7.fhir.validation, the engine of
the validator CLI's `txTests`) against `ipg-validator serve`, and `make conformance` beside it.

interop/hl7-validator (`make interop-build`) leaves the runner's front end and every dependency in
target/; it runs offline against a server started as a user starts it. The two runners must agree
test by test, and conformance/known-failures.json must list exactly the official runner's failures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from conformance.runner import Runner, cases, known_failures
from conformance.runner import tests_dir as conformance_tests_dir
from ipg_validator.server.app import create_app

from tests.support.server import serving

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "interop" / "hl7-validator"
JAR = MODULE / "target" / "hl7-validator.jar"
CLASSPATH = f"{JAR}{os.pathsep}{MODULE / 'target' / 'lib'}{os.sep}*"
FOLDER = conformance_tests_dir()
RUN_TIMEOUT = 900


def missing() -> str | None:
    """Why the official runner cannot run here, or None."""
    if shutil.which("java") is None:
        return "java is not installed (the HL7 validator needs Java 17)"
    if not JAR.exists():
        return f"{JAR.relative_to(ROOT)} is not built: run `make interop-build` (needs Maven)"
    if not (FOLDER / "test-cases.json").exists():
        return f"HL7 tx-ecosystem test data not found at {FOLDER} (set TX_ECOSYSTEM_TESTS)"
    return None


REASON = missing()
if REASON:
    if os.environ.get("CI", "").strip().lower() == "true":
        def test_hl7_validator_present() -> None:
            pytest.fail(REASON + "; under CI=true the HL7 validator interop tests must run")
    else:
        pytestmark = pytest.mark.skip(reason=REASON)


def java(*args: str, timeout: int = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["java", "-cp", CLASSPATH, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`suite/test` -> (status, message) from the official runner's test-results.json, with the run's log."""
    out = tmp_path_factory.mktemp("txtests")
    with serving() as base:
        started = time.monotonic()
        run = java("org.ipgvalidator.interop.hl7.TxTests", str(FOLDER), base, str(out))
        seconds = time.monotonic() - started
    results = out / "test-results.json"
    assert results.exists(), f"the runner wrote no results (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    tests = {f"{s['name']}/{t['name']}": (t.get("status"), t.get("message"))
             for s in json.loads(results.read_text(encoding="utf-8"))["suites"] for t in s["tests"]}
    summary = [line for line in run.stdout.splitlines() if "HL7 terminology service tests" in line]
    print(f"official txTests: {seconds:.0f} s; {summary[-1] if summary else 'no summary line'}")
    return {"tests": tests, "log": run.stdout, "exit": run.returncode}


@pytest.fixture(scope="module")
def ours() -> dict[str, str]:
    """`suite/test` -> pass, fail or skip from `make conformance`'s runner (in-process)."""
    with TestClient(create_app()) as client:
        runner = Runner(client, FOLDER)
        return {c.id: ("skip" if (o := runner.run(c)).skipped else "pass" if o.passed else "fail") for c in cases(FOLDER)}


def test_the_official_runner_ran_every_general_suite(official: dict[str, Any]) -> None:
    tests = official["tests"]
    assert len(tests) > 500, official["log"][-3000:]
    assert {status for status, _ in tests.values()} <= {"pass", "fail"}
    assert official["exit"] == (0 if all(s == "pass" for s, _ in tests.values()) else 1)


def test_make_conformance_agrees_with_the_official_runner_test_by_test(official: dict[str, Any], ours: dict[str, str]) -> None:
    tests = official["tests"]
    ran = {k: v for k, v in ours.items() if v != "skip"}
    assert set(ran) == set(tests), f"only ours: {sorted(set(ran) - set(tests))}; only official: {sorted(set(tests) - set(ran))}"
    disagree = {k: (ran[k], tests[k]) for k in tests if ran[k] != tests[k][0]}
    assert not disagree, f"{len(disagree)} disagreements (ours, (official, message)): {disagree}"


def test_known_failures_are_exactly_the_official_failures(official: dict[str, Any]) -> None:
    failed = {k for k, (status, _) in official["tests"].items() if status == "fail"}
    assert failed == set(known_failures()), f"official only: {sorted(failed - set(known_failures()))}; listed only: {sorted(set(known_failures()) - failed)}"
