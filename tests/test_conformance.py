"""The HL7 terminology ecosystem conformance suites, run in-process as the HL7 runner runs them.

Reads test-cases.json from $TX_ECOSYSTEM_TESTS (default ../shared/tx-ecosystem/tests). Every test
of every `general` suite and of `metadata` must pass or be listed, with a reason, in
conformance/known-failures.json; a listed test that passes fails here, so the list only shrinks.
Without the data the module is skipped, except under CI=true where that is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from conformance.runner import KNOWN_FAILURES, Case, Runner, cases, known_failures
from conformance.runner import tests_dir as conformance_tests_dir
from ipg_validator.server.app import create_app

FOLDER = conformance_tests_dir()
HAVE_DATA = (FOLDER / "test-cases.json").exists()
KNOWN = known_failures()

if not HAVE_DATA:
    reason = f"HL7 tx-ecosystem test data not found at {FOLDER} (set TX_ECOSYSTEM_TESTS)"
    if os.environ.get("CI", "").lower() == "true":
        def test_conformance_data_present() -> None:
            pytest.fail(reason + "; under CI=true the conformance suites must run")
    else:
        pytestmark = pytest.mark.skip(reason=reason)

CASES: list[Case] = list(cases(FOLDER)) if HAVE_DATA else []


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    with TestClient(create_app()) as client:
        yield Runner(client, FOLDER)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_conformance(runner: Runner, case: Case) -> None:
    outcome = runner.run(case)
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    if case.id in KNOWN:
        assert not outcome.passed, f"{case.id} now passes: remove it from {KNOWN_FAILURES.name}"
        return
    assert outcome.passed, f"{case.id}: {outcome.detail}"


def test_known_failures_name_real_tests() -> None:
    """Every entry of the known-failures file is a test of the suites, with a reason."""
    names = {c.id for c in CASES}
    stale = sorted(k for k in KNOWN if k not in names)
    assert not stale, f"known failures that are not tests: {stale}"
    assert all(isinstance(v, str) and v.strip() for v in KNOWN.values())
