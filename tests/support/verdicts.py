"""What the examples' `.expected.json` says about each coded entry, and our own membership answer: shared by
the tests that run real validators (HAPI FHIR, the HL7 validator) over examples/ against the server."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import DIAGNOSES, PROCEDURES

BOUND = {"Procedure": PROCEDURES, "Condition": DIAGNOSES}  # the required bindings of ipg672-procedure / -condition
KINDS = ("invalid", "unknown", "display", "outside", "alias", "format", "beside")  # most telling first


def coded_entries(bundle: dict[str, Any]) -> list[tuple[int, str, list[dict[str, Any]]]]:
    """(entry index, resource type, codings) of every Procedure and Condition."""
    out = []
    for i, entry in enumerate(bundle.get("entry", [])):
        resource = entry.get("resource") or {}
        if resource.get("resourceType") in BOUND:
            out.append((i, resource["resourceType"], (resource.get("code") or {}).get("coding", [])))
    return out


def expected_kind(expected: dict[str, Any], entry: int) -> str:
    """What `.expected.json` says about the entry's codings: invalid, unknown, display, outside, alias, format, beside or ''."""
    kinds = set()
    prefix = f"Bundle.entry[{entry}].resource.code.coding["
    for issue in expected["issues"]:
        where, code, severity = issue["expression"], issue["code"], issue["severity"]
        if not where.startswith(prefix):
            continue
        if code in ("invalid-code", "invalid-data"):
            kinds.add("invalid" if severity == "error" else "unknown")
        elif code == "invalid-display":
            kinds.add("display")
        elif code in ("ipg672-procedure-outside", "ipg672-diagnosis-outside"):
            kinds.add("outside")
        elif code == "code-rule":
            kinds.add("alias" if where.endswith(".system") else "format")
        elif code == "ipg672-system-not-checked":
            kinds.add("beside")
    return next((kind for kind in KINDS if kind in kinds), "")


def our_answers(base: str, value_set: str, codings: list[dict[str, Any]], display_language: str | None = None) -> list[dict[str, Any]]:
    """Our own ValueSet/$validate-code answer (Parameters) for each coding."""
    out = []
    for coding in codings:
        params = {"url": value_set, "code": coding.get("code", "")}
        if display_language:
            params["displayLanguage"] = display_language
        if coding.get("system"):
            params["system"] = coding["system"]
        if coding.get("display"):
            params["display"] = coding["display"]
        out.append(httpx.get(f"{base}/ValueSet/$validate-code", params=params, timeout=10).json())
    return out


def our_membership(base: str, value_set: str, codings: list[dict[str, Any]]) -> bool:
    """Is any of the codings in the value set, by our own $validate-code?"""
    return any(any(p["name"] == "result" and p.get("valueBoolean") for p in answer["parameter"])
               for answer in our_answers(base, value_set, codings))


OURS_LABEL = {
    "invalid": "invalid (error)", "unknown": "not in the set; cannot be confirmed (warning)",
    "display": "in the set; wrong display (warning)", "outside": "not in the set (information)",
    "alias": "in the set; alias system (warning)", "format": "in the set; NHS format (warning)",
    "beside": "in the set; SNOMED CT beside it not checked (information)", "out": "not in the set",
}
TABLE_MARK = "<!-- {}-verdicts -->"


def doc_table(rows: list[dict[str, Any]], label: Any) -> list[str]:
    """The per-example Markdown rows of a real client's verdicts beside ours (rows: example, codes, ours, said,
    agree); `label(message)` names one of the client's messages."""
    out = []
    for example in sorted({r["example"] for r in rows}):
        mine = [r for r in rows if r["example"] == example]

        def cell(parts: list[str], count: int, word: str) -> str:
            return "; ".join([*parts, *([f"{count} coding{'s' if count != 1 else ''} {word}"] if count else [])])

        ours = [f"{'/'.join(map(str, r['codes']))}: {OURS_LABEL[r['ours']]}" for r in mine if r["ours"] != "in"]
        theirs = [f"{'/'.join(map(str, r['codes']))}: {', '.join(label(m) for m in r['said'])}" for r in mine if r["said"]]
        same = "yes" if all(r["agree"] for r in mine) else "no"
        out.append(f"| {example} | {cell(ours, sum(r['ours'] == 'in' for r in mine), 'in the set')} "
                   f"| {cell(theirs, sum(not r['said'] for r in mine), 'valid')} | {same} |")
    return out


def documented_table(text: str, name: str) -> list[str]:
    """The table rows between a pair of `<!-- NAME-verdicts -->` markers (header and rule left out)."""
    parts = text.split(TABLE_MARK.format(name))
    assert len(parts) == 3, f"docs/clients.md needs two {TABLE_MARK.format(name)} markers around the table"
    return [line for line in parts[1].strip().splitlines()[2:] if line.startswith("|")]
