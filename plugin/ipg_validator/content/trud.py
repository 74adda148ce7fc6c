"""Import the full OPCS-4 and ICD-10 5th Edition classifications from NHS TRUD releases.

TRUD files are licensed to the user and cannot be shipped, so `ipg-validator import-trud`
turns the user's own copies into FHIR R4 CodeSystem resources (plain dicts / JSON files)
that the terminology layer loads like any other content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
from ipg_validator.core.systems import ICD10_UK, OPCS4

__all__ = ["TrudFormatError", "import_trud", "read_icd10", "read_opcs4"]

PUBLISHER = "NHS England (imported from a TRUD release by ipg-validator import-trud)"
NOT_SELECTABLE_URI = "http://hl7.org/fhir/concept-properties#notSelectable"
ICD10_PROPERTY_BASE = "https://ipg-validator.org/fhir/CodeSystem/icd-10-uk-properties#"

#: ICD-10 header column -> CodeSystem property code, in declaration order.
ICD10_PROPERTIES: dict[str, str] = {
    "ALT_CODE": "alt-code",
    "USAGE": "usage",
    "USAGE_UK": "usage-uk",
    "MODIFIER_4": "modifier-4",
    "MODIFIER_5": "modifier-5",
    "QUALIFIERS": "qualifiers",
    "GENDER_MASK": "gender-mask",
    "MIN_AGE": "min-age",
    "MAX_AGE": "max-age",
    "TREE_DESCRIPTION": "tree-description",
}
ICD10_REQUIRED = ("CODE", "DESCRIPTION")

_CODE = re.compile(r"[A-Z][0-9]{2}(?:\.[0-9A-Z]{1,2})?")
_OPCS_EDITION = re.compile(r"OPCS[-_ ]?4[._]?(\d{1,2})(?!\d)", re.IGNORECASE)

# (code, title, concept property values)
_Row = tuple[str, str, list[dict[str, Any]]]


class TrudFormatError(ValueError):
    """A TRUD file that does not have the documented shape; names the file and the line."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}: line {line}: {message}")


def read_opcs4(path: Path, version: str | None = None) -> dict[str, Any]:
    """Read an OPCS-4 `CodesAndTitles` file (no header; code TAB title) as a CodeSystem.

    The edition comes from `version`, else from the file name (`OPCS411 ...` -> `4.11`).
    """
    path = Path(path)
    version = version or _opcs_version(path)
    rows: list[_Row] = []
    seen: set[str] = set()
    for number, line in _lines(path):
        fields = _fields(path, number, line, 2)
        code = _check_code(path, number, fields[0].strip(), seen)
        rows.append((code, _check_title(path, number, fields[1]), []))
    if not rows:
        raise TrudFormatError(path, 1, "file is empty: no codes found")
    return _codesystem(
        rows,
        url=OPCS4,
        resource_id=f"opcs-4-{_id_part(version)}",
        name="OPCS4",
        title="OPCS-4 Classification of Interventions and Procedures",
        version=version,
        description=f"OPCS-4 edition {version}, imported from the NHS TRUD file `{path.name}`.",
        properties={},
    )


def read_icd10(path: Path, version: str = "5.0") -> dict[str, Any]:
    """Read an ICD-10 5th Edition `CodesAndTitlesAndMetadata` file (header row) as a CodeSystem.

    Columns are located by header name; the metadata columns become string properties.
    """
    path = Path(path)
    lines = _lines(path)
    if not lines:
        raise TrudFormatError(path, 1, "file is empty: expected a header row")
    header_line, header_text = lines[0]
    header = [name.strip().upper() for name in header_text.split("\t")]
    for name in ICD10_REQUIRED:
        if name not in header:
            raise TrudFormatError(path, header_line, f"header has no {name} column")
    if len(set(header)) != len(header):
        raise TrudFormatError(path, header_line, "header repeats a column name")
    code_at, title_at = header.index("CODE"), header.index("DESCRIPTION")
    present = {
        column: header.index(column) for column in ICD10_PROPERTIES if column in header
    }
    rows: list[_Row] = []
    seen: set[str] = set()
    for number, line in lines[1:]:
        fields = _fields(path, number, line, len(header))
        raw = fields[code_at].strip()
        code = _check_code(path, number, raw.removesuffix(".-"), seen)
        title = _check_title(path, number, fields[title_at])
        props = [
            {"code": ICD10_PROPERTIES[column], "valueString": value}
            for column, at in present.items()
            if (value := fields[at].strip())
        ]
        rows.append((code, title, props))
    if not rows:
        raise TrudFormatError(path, header_line, "file has a header row but no codes")
    return _codesystem(
        rows,
        url=ICD10_UK,
        resource_id=f"icd-10-uk-{_id_part(version)}",
        name="ICD10UK",
        title="ICD-10 5th Edition (UK)",
        version=version,
        description=f"ICD-10 5th Edition (UK) {version}, imported from the NHS TRUD file `{path.name}`.",
        properties={ICD10_PROPERTIES[column]: column for column in present},
    )


def import_trud(opcs: Path | None, icd10: Path | None, out: Path) -> list[Path]:
    """Convert the given TRUD files and write `out/CodeSystem-<id>.json`; return the paths."""
    if opcs is None and icd10 is None:
        raise ValueError("import_trud needs an OPCS-4 file, an ICD-10 file or both")
    resources = []
    if opcs is not None:
        resources.append(read_opcs4(Path(opcs)))
    if icd10 is not None:
        resources.append(read_icd10(Path(icd10)))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for resource in resources:
        target = out / f"CodeSystem-{resource['id']}.json"
        target.write_bytes(
            orjson.dumps(
                resource, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
            )
        )
        written.append(target)
    return written


def _lines(path: Path) -> list[tuple[int, str]]:
    """Decode a TRUD file (UTF-8, BOM tolerated, else cp1252) into numbered non-blank lines."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise TrudFormatError(
                path, line, "text is neither UTF-8 nor Windows-1252"
            ) from exc
    return [
        (number, line.rstrip("\r"))
        for number, line in enumerate(text.split("\n"), start=1)
        if line.rstrip("\r").strip(" ")
    ]


def _fields(path: Path, line: int, text: str, expected: int) -> list[str]:
    """Split a line on tabs, insisting on the expected number of columns."""
    fields = text.split("\t")
    if len(fields) != expected:
        message = f"expected {expected} tab-separated columns, found {len(fields)}"
        raise TrudFormatError(path, line, message)
    return fields


def _check_code(path: Path, line: int, code: str, seen: set[str]) -> str:
    """Reject empty, malformed and repeated codes; remember the code as seen."""
    if not code:
        raise TrudFormatError(path, line, "empty code")
    if not _CODE.fullmatch(code):
        raise TrudFormatError(
            path, line, f"malformed code {code!r}: expected a dotted code like J12.3"
        )
    if code in seen:
        raise TrudFormatError(path, line, f"duplicate code {code!r}")
    seen.add(code)
    return code


def _check_title(path: Path, line: int, title: str) -> str:
    title = title.strip()
    if not title:
        raise TrudFormatError(path, line, "empty title")
    return title


def _opcs_version(path: Path) -> str:
    """Derive the OPCS-4 edition from a TRUD file name: `OPCS411 ...` -> `4.11`."""
    match = _OPCS_EDITION.search(path.name)
    if match is None:
        raise ValueError(
            f"cannot tell the OPCS-4 edition from the file name {path.name!r}; pass a version (e.g. 4.11)"
        )
    return f"4.{match.group(1)}"


def _id_part(version: str) -> str:
    """A version as a FHIR id fragment: dots (and anything else not allowed) become dashes."""
    part = re.sub(r"[^A-Za-z0-9]+", "-", version).strip("-")
    if not part:
        raise ValueError(f"unusable version {version!r}")
    return part


def _parent(code: str) -> str:
    """The code one level up, derived from the code itself: J12.3 -> J12, M54.56 -> M54.5."""
    return code[:-1].rstrip(".")


def _nest(rows: Sequence[_Row]) -> list[dict[str, Any]]:
    """Build nested concepts: a code sits under its derived parent when the file has it."""
    codes = {code for code, _, _ in rows}
    parents = {
        code: parent for code, _, _ in rows if (parent := _parent(code)) in codes
    }
    has_children = set(parents.values())
    concepts: dict[str, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for code, title, props in rows:
        concept: dict[str, Any] = {"code": code, "display": title}
        if code in has_children:
            props = [{"code": "notSelectable", "valueBoolean": True}, *props]
        if props:
            concept["property"] = props
        concepts[code] = concept
    for code, _, _ in rows:
        up = parents.get(code)
        siblings = roots if up is None else concepts[up].setdefault("concept", [])
        siblings.append(concepts[code])
    return roots


def _property_declarations(properties: dict[str, str]) -> Iterable[dict[str, Any]]:
    yield {
        "code": "notSelectable",
        "uri": NOT_SELECTABLE_URI,
        "description": "A category with subcodes: not valid to record on its own",
        "type": "boolean",
    }
    for code, column in properties.items():
        yield {
            "code": code,
            "uri": ICD10_PROPERTY_BASE + code,
            "description": f"The {column} column of the TRUD file",
            "type": "string",
        }


def _codesystem(
    rows: Sequence[_Row],
    *,
    url: str,
    resource_id: str,
    name: str,
    title: str,
    version: str,
    description: str,
    properties: dict[str, str],
) -> dict[str, Any]:
    """Assemble the CodeSystem resource around the nested concepts."""
    return {
        "resourceType": "CodeSystem",
        "id": resource_id,
        "url": url,
        "version": version,
        "name": name,
        "title": title,
        "status": "active",
        "publisher": PUBLISHER,
        "description": description,
        "caseSensitive": True,
        "hierarchyMeaning": "is-a",
        "versionNeeded": False,
        "content": "complete",
        "count": len(rows),
        "property": list(_property_declarations(properties)),
        "concept": _nest(rows),
    }
