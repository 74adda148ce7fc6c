"""The files of a FHIR Bulk Data export: a folder of `*.ndjson[.gz]`, or its `$export` manifest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import orjson

SUFFIXES = (".ndjson", ".ndjson.gz")
_TYPE_IN_NAME = re.compile(r"^([A-Z][A-Za-z]+)")


class ExportError(Exception):
    """The export cannot be read at all (no such path, a broken manifest, no NDJSON files)."""


@dataclass(frozen=True)
class ExportFile:
    """One NDJSON file of the export and the resource type the manifest or its name declares."""

    path: Path
    declared: str | None  # None: the name says no type; each line's resourceType decides
    name: str  # as reports show it: relative to the export folder or manifest

    @property
    def gzipped(self) -> bool:
        return self.path.name.endswith(".gz")


def discover(path: Path) -> list[ExportFile]:
    """The export's files, in a stable order: by declared type, then name (a manifest keeps its order)."""
    if path.is_dir():
        return _folder(path)
    if path.is_file():
        if path.name.endswith(SUFFIXES):
            return [ExportFile(path, _declared(path.name), path.name)]
        return _manifest(path)
    raise ExportError(f"{path}: no such file or folder")


def _folder(folder: Path) -> list[ExportFile]:
    found = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
    if not found:
        raise ExportError(f"{folder}: holds no *.ndjson or *.ndjson.gz files")
    files = [ExportFile(p, _declared(p.name), p.relative_to(folder).as_posix()) for p in found]
    return sorted(files, key=lambda f: (f.declared or "~", f.name))


def _manifest(path: Path) -> list[ExportFile]:
    try:
        manifest = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ExportError(f"{path}: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise ExportError(f"{path}: not an NDJSON file nor a JSON $export manifest ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("output"), list):
        raise ExportError(f"{path}: a $export manifest needs an 'output' array of {{type, url}}")
    files: list[ExportFile] = []
    for where in ("output", "error"):  # error files are OperationOutcomes: read and counted, never dropped
        items = manifest.get(where) or []
        for n, item in enumerate(items if isinstance(items, list) else []):
            url = item.get("url") if isinstance(item, dict) else None
            if not isinstance(url, str) or not url:
                raise ExportError(f"{path}: {where}[{n}] has no url")
            local = _local(url, path.parent)
            if local is None:
                raise ExportError(f"{path}: {where}[{n}].url {url!r} is not a local file: download the export first and point the urls at the files")
            if not local.is_file():
                raise ExportError(f"{path}: {where}[{n}].url {url!r}: no such file {local}")
            declared = item.get("type") if isinstance(item.get("type"), str) else _declared(local.name)
            files.append(ExportFile(local, declared, _shown(local, path.parent)))
    if not files:
        raise ExportError(f"{path}: the manifest lists no output files")
    return files


def _local(url: str, base: Path) -> Path | None:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:  # http(s) and the like; a Windows drive letter is not a scheme
        return None
    given = Path(url)
    return given if given.is_absolute() else base / given


def _shown(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def _declared(name: str) -> str | None:
    match = _TYPE_IN_NAME.match(name)
    return match.group(1) if match else None
