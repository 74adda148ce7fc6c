"""What `Bundle/$validate` says about each encounter of an export built from the examples: the test's own
grouping (an encounter, its Patient, the Procedures and Conditions that point at it or that it lists)
and its own mapping of Bundle places to the export's resources, to hold `bulk` to it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

ENTRY = re.compile(r"Bundle\.entry\[(\d+)\](?:\.resource)?")  # matched at an expression's start, found anywhere in a text


def export_places(folder: Path) -> dict[bytes, list[str]]:
    """Each line of an export folder's files -> the `FILE line N` places it is written at, in file order."""
    places: dict[bytes, list[str]] = {}
    for path in sorted(folder.glob("*.ndjson")):
        for n, text in enumerate(path.read_bytes().splitlines(), 1):
            places.setdefault(text, []).append(f"{path.name} line {n}")
    return places


def encounter_bundles(resources: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(group name, the group's resources main first) for every encounter and every resource outside one."""
    encounters = [r for r in resources if r["resourceType"] == "Encounter"]
    known = {f"Encounter/{e['id']}" for e in encounters}
    groups: dict[str, list[dict[str, Any]]] = {f"Encounter/{e['id']}": [e] for e in encounters}
    coded = [r for r in resources if r["resourceType"] in ("Procedure", "Condition")]
    for kind in ("Procedure", "Condition"):
        for r in [c for c in coded if c["resourceType"] == kind]:
            own = (r.get("encounter") or {}).get("reference")
            target = own if own in known else next((f"Encounter/{e['id']}" for e in encounters for d in e.get("diagnosis", [])
                                                     if (d.get("condition") or {}).get("reference") == f"{kind}/{r['id']}"), None)
            if target is None:
                groups[f"{kind}/{r['id']}"] = [r]
            else:
                groups[target].append(r)
    patients = [(f"Patient/{p['id']}", p) for p in resources if p["resourceType"] == "Patient"]  # a Patient twice in the export: both lines
    out = []
    for name, members in groups.items():
        wanted = {(m.get("subject") or {}).get("reference") for m in members}
        extra = [p for ref, p in patients if ref in wanted]
        out.append((name, [members[0], *extra, *members[1:]]))
    return out


def expected_issues(name: str, members: list[dict[str, Any]], validate: Callable[[dict[str, Any]], dict[str, Any]],
                    places: dict[bytes, list[str]]) -> list[bytes]:
    """The OperationOutcome issues of the group put in a Bundle, each place moved from the Bundle to its resource:
    expressions start at the resource, and a text naming another entry names its file and line instead."""
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": m} for m in members]}
    outcome = validate(bundle)
    seen: dict[bytes, int] = {}
    at = []  # each member's place: a resource written twice takes its lines in turn
    for m in members:
        line = orjson.dumps(m)
        at.append(places[line][seen.get(line, 0)])
        seen[line] = seen.get(line, 0) + 1
    where = lambda m: at[int(m.group(1))]  # noqa: E731
    issues = []
    for issue in outcome["issue"]:
        issue = dict(issue)
        for key in ("expression", "location"):
            if key in issue:
                issue[key] = [_moved(e, members) for e in issue[key]]
        if "details" in issue and "text" in issue["details"]:
            issue["details"] = {**issue["details"], "text": ENTRY.sub(where, issue["details"]["text"])}
        issues.append(orjson.dumps(issue, option=orjson.OPT_SORT_KEYS))
    return sorted(issues)


def _moved(expression: str, members: list[dict[str, Any]]) -> str:
    match = ENTRY.match(expression)
    if match:
        return members[int(match.group(1))]["resourceType"] + expression[match.end():]
    return members[0]["resourceType"] + expression[len("Bundle"):]


def bulk_issues(outcome: dict[str, Any]) -> list[bytes]:
    """A bulk OperationOutcome's issues without the file and line extensions."""
    issues = []
    for issue in outcome["issue"]:
        issue = dict(issue)
        kept = [e for e in issue.get("extension", []) if "operationoutcome-file" not in e["url"] and "operationoutcome-issue-line" not in e["url"]]
        issue.pop("extension", None)
        if kept:
            issue["extension"] = kept
        issues.append(orjson.dumps(issue, option=orjson.OPT_SORT_KEYS))
    return sorted(issues)
