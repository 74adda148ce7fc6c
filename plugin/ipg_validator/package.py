"""The FHIR NPM package of the shipped content: `ipg-validator.<pack ids>-<version>.tgz` (`ipg-validator.ipg672`).

Its name, title and keywords come from the shipped guidance packs, so a new pack is packaged with no code.

Layout (FHIR package specification, https://hl7.org/fhir/packages.html):

    package/package.json       name, version, fhirVersions, dependencies, canonical, ...
    package/.index.json        index-version 1: each resource file with resourceType, id, url, version, kind, type
    package/<Type>-<id>.json   the CodeSystems, ValueSets, NamingSystems, StructureDefinitions and
                               OperationDefinitions (and any SearchParameter in the shipped content)
    package/example/...        the packs' example encounter Bundles, with their own .index.json

Only the shipped content goes in: a licensed TRUD release loaded with --content never does.
The one operation FHIR R4 does not define, ValueSet/$batch-validate-code, has its
OperationDefinition in the shipped content (profiles/), and is packaged with it.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path
from typing import Any

import orjson

from .content.index import ContentIndex
from .content.loader import ContentError, load_content
from .content.paths import EXAMPLES, shipped_content
from .content.ruleset import joined
from .fhir.capabilities import FHIR_VERSION, software_version

PREFIX = "ipg-validator"
CANONICAL = "https://ipg-validator.org/fhir"
CONFORMANCE_TYPES = ("CodeSystem", "ValueSet", "NamingSystem", "StructureDefinition", "OperationDefinition", "SearchParameter")
INDEX_KEYS = ("id", "url", "version", "kind", "type", "supplements", "content")
_MTIME = 946684800  # 2000-01-01: the same content gives the same bytes


class PackageError(Exception):
    """The package cannot be written from this content."""


def package_name(index: ContentIndex) -> str:
    """`ipg-validator.` and the shipped packs' ids (`ipg-validator.ipg672`)."""
    return ".".join([PREFIX, "-".join(rules.id for rules in index.rule_sets) or "content"])


def package_json(version: str, index: ContentIndex) -> dict[str, Any]:
    """The package manifest, named and described from the packs."""
    ids = [rules.guidance for rules in index.rule_sets]
    titles = joined([rules.title for rules in index.rule_sets])
    return {
        "name": package_name(index),
        "version": version,
        "tools-version": 3,
        "type": "Conformance",
        "date": "20000101000000",
        "license": "Apache-2.0",
        "canonical": CANONICAL,
        "url": CANONICAL,
        "title": f"{joined(ids)} coding: OPCS-4 and ICD-10 UK value sets, profiles and rules",
        "description": f"ValueSets, CodeSystem fragments, NamingSystems and profiles for NHS clinical coding: {titles}; from ipg-validator. "
                       f"Derived from the coding recommendations NICE publishes with {joined(ids)}; not issued or endorsed by NICE.",
        "fhirVersions": [FHIR_VERSION],
        "dependencies": {"hl7.fhir.r4.core": FHIR_VERSION},
        "author": "ipg-validator",
        "maintainers": [{"name": "ipg-validator"}],
        "jurisdiction": "urn:iso:std:iso:3166#GB",
        "keywords": [*ids, "OPCS-4", "ICD-10", "NHS"],
    }


def package_files(examples: Path | None = None, *, code_systems: bool = True) -> dict[str, bytes]:
    """Every file of the package, by its path inside the tarball; without the CodeSystem fragments if asked."""
    try:
        index = load_content()  # the shipped content must load cleanly (same checks as the server)
    except ContentError as exc:
        raise PackageError(f"the shipped content does not load: {exc}") from None
    version = software_version()
    files: dict[str, bytes] = {}
    main = _resources(p for folder in shipped_content() for p in sorted(folder.rglob("*.json")) if EXAMPLES not in p.relative_to(folder).parts)
    kept = [r for r in main if r["resourceType"] in CONFORMANCE_TYPES and (code_systems or r["resourceType"] != "CodeSystem")]
    files.update(_with_index("package/", kept))
    if examples is not None and not examples.is_dir():
        raise PackageError(f"{examples}: not a folder")
    folders = [examples] if examples is not None else [folder for _, folder in index.example_folders()]
    found = _resources(p for folder in folders for p in sorted(folder.glob("*.json")) if not p.name.endswith(".expected.json"))
    if found:
        files.update(_with_index("package/example/", found))
    files["package/package.json"] = _json(package_json(version, index))
    return files


def write_package(out: Path, *, examples: Path | None = None, code_systems: bool = True) -> tuple[Path, int]:
    """Write `ipg-validator.<pack ids>-<version>.tgz` into `out`; returns its path and how many resources it holds."""
    files = package_files(examples, code_systems=code_systems)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{orjson.loads(files['package/package.json'])['name']}-{software_version()}.tgz"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(files[name]), _MTIME, 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    with path.open("wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=_MTIME, filename="") as gz:
        gz.write(raw.getvalue())
    listed = sum(1 for name in files if name.endswith(".json") and not name.endswith(("package.json", ".index.json")))
    return path, listed


def _resources(paths: Any) -> list[dict[str, Any]]:
    out = []
    for path in paths:
        data = orjson.loads(path.read_bytes())
        if isinstance(data, dict) and isinstance(data.get("resourceType"), str):
            if not isinstance(data.get("id"), str):
                raise PackageError(f"{path}: a {data['resourceType']} without an id cannot be packaged")
            out.append(data)
    return out


def _with_index(folder: str, resources: list[dict[str, Any]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    index = []
    for resource in sorted(resources, key=lambda r: (r["resourceType"], r["id"])):
        filename = f"{resource['resourceType']}-{resource['id']}.json"
        if folder + filename in files:
            raise PackageError(f"two {resource['resourceType']} resources have the id {resource['id']!r}")
        files[folder + filename] = _json(resource)
        entry = {"filename": filename, "resourceType": resource["resourceType"]}
        entry.update({key: resource[key] for key in INDEX_KEYS if isinstance(resource.get(key), str)})
        index.append(entry)
    files[folder + ".index.json"] = _json({"index-version": 1, "files": index})
    return files


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"
