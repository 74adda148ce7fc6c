"""Inputs of `ipg-validator validate`: files, folders, NDJSON lines, FHIR XML files and stdin, each read or reported.

Nothing is skipped silently: a file that cannot be read, is not UTF-8, is empty, is not JSON or has
a property twice in one object, or is not FHIR XML, becomes an Input carrying the problem. FHIR XML
(`*.xml`, or stdin starting with '<') is read into its JSON form, as the server reads it. A folder
is read as a user means it: a JSON file in it that is not a FHIR resource (no resourceType, such as
the examples' *.expected.json outcomes) is an Input marked `skipped`, which the command reports in one line.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import typer

from ..core.errors import FhirError
from ..core.jsonio import FHIR_JSON, duplicate_key, duplicate_text
from ..fhir.xml import FHIR_XML, parse_xml

SUFFIXES = (".json", ".ndjson", ".xml")
STDIN = "-"
STDIN_NAME = "<stdin>"
STDIN_URL = "urn:stdin"


@dataclass
class Input:
    """One thing to validate: a file, a line of an NDJSON file, or stdin."""

    name: str  # as shown to people (the path as given, `file.ndjson:LINE`, `<stdin>`)
    url: str  # the Bundle entry fullUrl: file:// URI, `#line=N` for NDJSON lines, urn:stdin
    raw: bytes = b""  # the bytes as read (sent as is to --server)
    body: Any = None  # the parsed JSON
    problem: str | None = None  # why it could not be read; None when it was
    problem_code: str = "structure"
    media_type: str = FHIR_JSON  # how `raw` is written: FHIR JSON, or FHIR XML
    skipped: str | None = None  # why a file found in a folder is not validated (not a FHIR resource)


def collect_inputs(paths: Sequence[str], exclude: Sequence[str]) -> Iterator[Input]:
    """Every input of the command line, in order: files as given, folders sorted, NDJSON per line."""
    seen: set[str] = set()
    for given in paths:
        if given == STDIN:
            yield from _stdin_inputs(typer.get_binary_stream("stdin").read())
            continue
        path = Path(given)
        if path.is_dir():
            for found in _walk(path, exclude):
                key = os.path.realpath(found) if isinstance(found, Path) else f"problem:{found.name}"
                if key not in seen:
                    seen.add(key)
                    yield from _folder_file_inputs(found) if isinstance(found, Path) else [found]
        else:
            key = os.path.realpath(path)
            if key not in seen:
                seen.add(key)
                yield from _file_inputs(path)


def _walk(root: Path, exclude: Sequence[str]) -> list[Path | Input]:
    """The *.json, *.ndjson and *.xml under `root`, sorted by path; directories that cannot be listed or
    loop back on themselves, and directories named like JSON files, come back as Inputs in error."""
    found: list[tuple[str, Path | Input]] = []

    def excluded(path: Path) -> bool:
        rel = path.relative_to(root).as_posix()
        return any(fnmatch.fnmatch(path.name, g) or fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(str(path), g) for g in exclude)

    def visit(folder: Path, ancestors: tuple[str, ...]) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            found.append((str(folder), _problem(folder, f"cannot list this folder: {exc.strerror or exc}", "exception")))
            return
        for entry in entries:
            path = Path(folder, entry.name)
            matches = entry.name.lower().endswith(SUFFIXES)
            try:
                is_dir = entry.is_dir()  # follows symbolic links
            except OSError:
                is_dir = False
            if is_dir:
                real = os.path.realpath(path)
                if matches and not excluded(path):
                    found.append((str(path), _problem(path, "is a directory, not a JSON or XML file", "exception")))
                if real in ancestors:
                    found.append((str(path), _problem(path, f"directory loop: this folder leads back to {real}", "exception")))
                    continue
                visit(path, (*ancestors, real))
            elif matches and not excluded(path):
                found.append((str(path), path))

    visit(root, (os.path.realpath(root),))
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]


def _problem(path: Path, text: str, code: str = "structure") -> Input:
    return Input(str(path), _file_url(path), problem=text, problem_code=code)


def _file_url(path: Path) -> str:
    return Path(os.path.abspath(path)).as_uri()


def _file_inputs(path: Path) -> list[Input]:
    """A file as one input, or an NDJSON file as one input per non-blank line."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        return [_problem(path, "is a directory, not a JSON or XML file", "exception")]
    except FileNotFoundError:
        return [_problem(path, "no such file", "exception")]
    except OSError as exc:
        return [_problem(path, f"cannot read: {exc.strerror or exc}", "exception")]
    name, url = str(path), _file_url(path)
    if path.name.lower().endswith(".ndjson"):
        return _ndjson_inputs(raw, name, url)
    if path.name.lower().endswith(".xml"):
        return [_xml_input(raw, name, url)]
    return [_json_input(raw, name, url)]


def _folder_file_inputs(path: Path) -> list[Input]:
    """A file found in a folder: read as `_file_inputs`, with a JSON file that is not a FHIR resource
    marked skipped (named on the command line it would be validated, and refused, as given)."""
    inputs = _file_inputs(path)
    if len(inputs) == 1 and inputs[0].problem is None and "#line=" not in inputs[0].url:
        body = inputs[0].body
        if not (isinstance(body, dict) and isinstance(body.get("resourceType"), str)):
            inputs[0].skipped = "not a FHIR resource (JSON without a resourceType)"
    return inputs


def _stdin_inputs(raw: bytes) -> list[Input]:
    """stdin: one JSON document, or NDJSON when it is several lines of JSON."""
    text, problem = _text(raw)
    if problem is None and text.lstrip().startswith("<"):
        return [_xml_input(raw, STDIN_NAME, STDIN_URL)]
    if problem is None and text.strip():
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and _parses(lines[0]) and not _parses(text):
            return _ndjson_inputs(raw, STDIN_NAME, STDIN_URL)
    return [_json_input(raw, STDIN_NAME, STDIN_URL)]


def _ndjson_inputs(raw: bytes, name: str, url: str) -> list[Input]:
    text, problem = _text(raw)
    if problem is not None:
        return [Input(name, url, raw, problem=problem)]
    inputs = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            inputs.append(_json_input(line.encode(), f"{name}:{number}", f"{url}#line={number}", ndjson=True))
    return inputs or [Input(name, url, raw, problem="empty: no Bundle in this NDJSON file")]


def _json_input(raw: bytes, name: str, url: str, *, ndjson: bool = False) -> Input:
    text, problem = _text(raw)
    if problem is not None:
        return Input(name, url, raw, problem=problem)
    if not text.strip():
        return Input(name, url, raw, problem="empty: no JSON in it")
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        where = f"column {exc.colno}" if ndjson else f"line {exc.lineno} column {exc.colno}"
        return Input(name, url, raw, problem=f"not JSON: {exc.msg} at {where}")
    duplicate = duplicate_key(text, body)
    if duplicate is not None:  # as the server refuses it (400): which of the two counts is not defined
        return Input(name, url, raw, problem=f"ambiguous JSON: {duplicate_text(duplicate)}")
    return Input(name, url, raw, body=body)


def _xml_input(raw: bytes, name: str, url: str) -> Input:
    text, problem = _text(raw)
    if problem is not None:
        return Input(name, url, raw, problem=problem, media_type=FHIR_XML)
    if not text.strip():
        return Input(name, url, raw, problem="empty: no XML in it", media_type=FHIR_XML)
    try:
        body = parse_xml(raw, max_depth=None)
    except FhirError as exc:
        return Input(name, url, raw, problem=f"not FHIR XML: {exc}", media_type=FHIR_XML)
    return Input(name, url, raw, body=body, media_type=FHIR_XML)


def _text(raw: bytes) -> tuple[str, str | None]:
    """The bytes as UTF-8 text (a BOM is allowed), or why they are not."""
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return "", f"not UTF-8 text (a binary file?): byte 0x{raw[exc.start]:02x} at offset {exc.start}"


def _parses(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# validation, here or by a server


class Unreadable(Exception):
    """An input the server could not be asked about, or did not answer in FHIR."""
