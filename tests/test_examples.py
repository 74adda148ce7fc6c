"""Every example Bundle gives exactly the outcome written beside it (examples/<name>.expected.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ipg_validator import validate_bundle

EXAMPLES = Path(__file__).resolve().parents[1] / "guidance" / "ipg672" / "examples"
BUNDLES = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json"))
SUMMARY = "ipg672-summary"


def _key(issue: dict[str, Any]) -> tuple[str, str, str]:
    return issue["severity"], issue["details"]["coding"][0]["code"], (issue.get("expression") or [""])[0]


def _listed(issue: dict[str, Any]) -> bool:
    """What an expected file lists: errors, warnings, and rule findings of information severity but the summary."""
    code = issue["details"]["coding"][0]["code"]
    return code != SUMMARY and (issue["severity"] != "information" or code.startswith("ipg672-"))


def test_there_are_examples() -> None:
    assert len(BUNDLES) >= 20


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.stem)
def test_example_outcome(path: Path) -> None:
    expected = orjson.loads(path.with_name(path.stem + ".expected.json").read_bytes())
    bundle = orjson.loads(path.read_bytes())
    outcome = validate_bundle(path.read_bytes())
    got = sorted(_key(i) for i in outcome["issue"] if _listed(i))
    want = sorted((i["severity"], i["code"], i["expression"]) for i in expected["issues"])
    assert got == want, expected["description"]
    conforms = not any(i["severity"] in ("error", "fatal") for i in outcome["issue"])
    assert conforms is expected["conforms"]
    encounters = sum(1 for e in bundle.get("entry", []) if e.get("resource", {}).get("resourceType") == "Encounter")
    summaries = [i for i in outcome["issue"] if i["details"]["coding"][0]["code"] == SUMMARY]
    assert len(summaries) == (encounters or 1)
    verdicts = {"coded as IPG672 recommends", "not checked against the IPG672 rules"} if conforms else set()
    if conforms:
        assert all(any(s["details"]["text"].endswith(v) for v in verdicts) for s in summaries)
