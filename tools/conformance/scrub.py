"""Scrubbing and sorting of an actual response before comparison, as the HL7 runner does.

Removed: `text`, `meta`, `diagnostics` (parameter or issue element) and extensions the suite
never lists (an extension is listed when some expected response of the suite carries it).
Sorted: Parameters by name, the issues of an OperationOutcome inside Parameters by severity, code,
expression and text (as strings, so `error` < `information` < `warning`), expansion parameters by
name and value, expansion contains by code, and the parts of a `message` split on "; ".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def listed_extensions(folder: Path, load: Callable[[str], Any]) -> frozenset[str]:
    """Every extension URL that appears in an expected response of the test cases."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("extension", "modifierExtension") and isinstance(value, list):
                    found.update(e["url"] for e in value if isinstance(e, dict) and isinstance(e.get("url"), str))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for suite in load("test-cases.json")["suites"]:
        for test in suite["tests"]:
            for key, name in test.items():
                if key.startswith("response") and (folder / name).exists():
                    walk(load(name))
    return frozenset(found)


def normalise(resource: Any, extensions: frozenset[str]) -> Any:
    """The scrubbed and sorted copy of a response."""
    return _node(resource, extensions)


def _node(node: Any, extensions: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_node(v, extensions) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    is_resource = "resourceType" in node
    for key, value in node.items():
        if is_resource and key in ("text", "meta"):
            continue
        if key == "diagnostics":
            continue
        if key in ("extension", "modifierExtension") and isinstance(value, list):
            value = [e for e in value if isinstance(e, dict) and e.get("url") in extensions]
            if not value:
                continue
        out[key] = _node(value, extensions)
    kind = node.get("resourceType")
    if kind == "Parameters":
        params = [p for p in out.get("parameter", []) if p.get("name") != "diagnostics"]
        for p in params:
            if p.get("name") == "message" and isinstance(p.get("valueString"), str):
                p["valueString"] = "; ".join(sorted(p["valueString"].split("; ")))
            # an OperationOutcome inside Parameters has its issues sorted (one on its own is not)
            resource = p.get("resource")
            if isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome" and isinstance(resource.get("issue"), list):
                resource["issue"] = sorted(resource["issue"], key=_issue_key)
        out["parameter"] = sorted(params, key=lambda p: str(p.get("name")))
        if not out["parameter"]:
            del out["parameter"]
    elif kind == "ValueSet" and isinstance(out.get("expansion"), dict):
        _sort_contains(out["expansion"])
        if isinstance(out["expansion"].get("parameter"), list):
            out["expansion"]["parameter"].sort(key=lambda p: (str(p.get("name")), _primitive(p)))
    return out


def _issue_key(issue: dict[str, Any]) -> tuple[Any, ...]:
    """The HL7 runner's order: severity code, issue code, first expression (else location), text, as strings."""
    where = issue.get("expression") or issue.get("location") or [""]
    return (str(issue.get("severity", "")), str(issue.get("code", "")), str(where[0]),
            str((issue.get("details") or {}).get("text", "")))


def _primitive(param: dict[str, Any]) -> str:
    return next((str(v) for k, v in param.items() if k.startswith("value")), "")


def _sort_contains(node: dict[str, Any]) -> None:
    contains = node.get("contains")
    if isinstance(contains, list):
        contains.sort(key=lambda c: str(c.get("code")))
        for item in contains:
            _sort_contains(item)
