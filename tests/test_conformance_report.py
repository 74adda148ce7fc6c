"""`make conformance`'s summary: failures split into known (with the reason, listed for required suites)
and new, and an exit code that says whether any failure is new."""

from __future__ import annotations

from collections import Counter

import pytest

from conformance.__main__ import report

KNOWN = {"validation/known-one": "the recorded answer lacks a location", "version/known-two": "release order"}


def _run(found: dict[str, str]) -> int:
    suites = ["validation", "version"]
    failed = Counter(case.split("/")[0] for case in found)
    return report(suites, Counter({"validation": 5, "version": 3}), failed, Counter(), found, KNOWN)


def test_only_known_failures_exit_0_and_say_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run({"validation/known-one": KNOWN["validation/known-one"], "version/known-two": KNOWN["version/known-two"]}) == 0
    out = capsys.readouterr().out
    assert "validation *" in out  # a required suite
    assert "Known failures in required suites (1):\n  validation/known-one: the recorded answer lacks a location" in out
    assert "version/known-two" not in out.split("Known failures")[1]  # not a required suite: counted, not listed
    assert "No new failures: all 2 failures are known ones (exit 0)" in out


def test_a_new_failure_exits_1_and_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run({"validation/known-one": KNOWN["validation/known-one"], "validation/broke": "response differs: x"}) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("validation *"))
    assert row.split()[2:] == ["5", "2", "1", "1", "0"]  # passed, failed, known, new, skipped
    assert "New failures, not in conformance/known-failures.json (1): exit 1\n  validation/broke: response differs: x" in out
