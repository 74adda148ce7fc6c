"""`python -m conformance [-v] [--xml] [--write-known-failures] [suite ...]`: passed/failed per suite.

`--xml` sends every request as FHIR XML and asks for XML answers (compared on their JSON form).

`--write-known-failures` records the failing tests in conformance/known-failures.json (reasons kept
for tests already listed); run it only over every suite. Exit 0 when every failure is a known one
(each known failure of a required suite is printed with its reason), 1 when one is not, 2 without data.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

from .runner import KNOWN_FAILURES, REQUIRED, Runner, cases, known_failures, tests_dir


def main(argv: list[str]) -> int:
    from fastapi.testclient import TestClient

    from ipg_validator.server.app import create_app

    verbose = "-v" in argv
    write = "--write-known-failures" in argv
    found: dict[str, str] = {}
    wanted = {a for a in argv if not a.startswith("-")}
    folder = tests_dir()
    if not (folder / "test-cases.json").exists():
        print(f"No test-cases.json in {folder}: set TX_ECOSYSTEM_TESTS", file=sys.stderr)
        return 2
    known = known_failures()
    passed: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    order: list[str] = []
    with TestClient(create_app()) as client:
        runner = Runner(client, folder, xml="--xml" in argv)
        for case in cases(folder):
            if wanted and case.suite not in wanted:
                continue
            if case.suite not in order:
                order.append(case.suite)
            outcome = runner.run(case)
            if outcome.skipped:
                skipped[case.suite] += 1
            elif outcome.passed:
                passed[case.suite] += 1
            else:
                failed[case.suite] += 1
                found[case.id] = known.get(case.id) or f"response differs: {outcome.detail}"[:300]
                if verbose:
                    mark = " (known)" if case.id in known else ""
                    print(f"FAIL {case.id}{mark}: {outcome.detail}")
    if write:
        KNOWN_FAILURES.parent.mkdir(exist_ok=True)
        KNOWN_FAILURES.write_text(json.dumps(dict(sorted(found.items())), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        known = dict(found)
    return report(order, passed, failed, skipped, found, known)


def report(order: list[str], passed: Counter[str], failed: Counter[str], skipped: Counter[str],
           found: dict[str, str], known: dict[str, str]) -> int:
    """The table per suite (failures split into known and new), every known failure of a required suite
    with its reason, every new failure; exit 1 when a failure is not a known one, else 0."""
    new = sorted(case for case in found if case not in known)
    known_failed: Counter[str] = Counter(case.split("/")[0] for case in found if case in known)
    print(f"{'suite':<28}{'passed':>8}{'failed':>8}{'known':>7}{'new':>6}{'skipped':>9}")
    for suite in order:
        flag = " *" if suite in REQUIRED else ""
        print(f"{suite + flag:<28}{passed[suite]:>8}{failed[suite]:>8}{known_failed[suite]:>7}"
              f"{failed[suite] - known_failed[suite]:>6}{skipped[suite]:>9}")
    total_p, total_f, total_s = sum(passed.values()), sum(failed.values()), sum(skipped.values())
    print(f"{'total':<28}{total_p:>8}{total_f:>8}{sum(known_failed.values()):>7}{len(new):>6}{total_s:>9}")
    print("* a required suite: every test in it passes, except the known failures listed below with the reason")
    print("known = listed in conformance/known-failures.json with the reason it fails; new = not listed (a regression)")
    print("skipped = tests for other server modes (as the HL7 runner skips them)")
    required_known = sorted(case for case in found if case in known and case.split("/")[0] in REQUIRED)
    if required_known:
        print(f"\nKnown failures in required suites ({len(required_known)}):")
        for case in required_known:
            print(f"  {case}: {known[case]}")
    if new:
        print(f"\nNew failures, not in conformance/known-failures.json ({len(new)}): exit 1")
        for case in new:
            print(f"  {case}: {found[case]}")
        return 1
    print(f"\nNo new failures: all {total_f} failures are known ones (exit 0)" if total_f else "\nEvery test passed (exit 0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
