"""The HL7 terminology ecosystem suites sent as FHIR XML pass and fail exactly the tests they do as JSON.

A sample of suites, each test run both ways in this run (so the comparison holds whatever the
runner or the server answer today). XML may skip only a request it cannot carry unchanged (a
boolean sent as the JSON string "true"). Without the data the module is skipped, except under
CI=true where that is a failure. `python -m conformance --xml` runs every suite.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from conformance.runner import Case, Runner, cases
from conformance.runner import tests_dir as conformance_tests_dir
from ipg_validator.server.app import create_app
from fuzz import client_for

FOLDER = conformance_tests_dir()
HAVE_DATA = (FOLDER / "test-cases.json").exists()
SAMPLE = ("metadata", "simple-cases", "validation", "language", "errors", "translate", "batch", "exclude", "regex-bad", "parameters")

CASES: list[Case] = [c for c in cases(FOLDER) if c.suite in SAMPLE] if HAVE_DATA else []


@pytest.fixture(scope="module")
def runners() -> Iterator[tuple[Runner, Runner]]:
    if not HAVE_DATA:  # skipped without the data, but never under CI
        why = f"HL7 tx-ecosystem test data not found at {FOLDER} (set TX_ECOSYSTEM_TESTS)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why + "; under CI=true it must be there")
        pytest.skip(why)
    with client_for(create_app()) as client:
        yield Runner(client, FOLDER), Runner(client, FOLDER, xml=True)


@pytest.mark.parametrize("suite", SAMPLE)
def test_suite_as_xml_passes_what_json_passes(runners: tuple[Runner, Runner], suite: str) -> None:
    as_json, as_xml = runners
    mine = [c for c in CASES if c.suite == suite]
    assert mine, f"no tests in suite {suite}"
    differ, skipped = [], []
    for case in mine:
        json_outcome, xml_outcome = as_json.run(case), as_xml.run(case)
        if xml_outcome.skipped and not json_outcome.skipped:
            skipped.append(case.id)
            assert "no FHIR XML form" in xml_outcome.skipped
        elif json_outcome.passed != xml_outcome.passed:
            differ.append(f"{case.id}: JSON {'passes' if json_outcome.passed else 'fails'}, XML: {xml_outcome.detail}")
    assert not differ, "\n".join(differ)
    assert len(skipped) <= 1, f"XML skipped {skipped}"  # only a request with a JSON-only mistake (batch-validate-bad's string "true")
