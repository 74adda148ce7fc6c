"""`ipg-validator package`: the FHIR NPM package unpacks to a manifest, an index matching the files, and the resources."""

from __future__ import annotations

import tarfile
from pathlib import Path

import orjson
from ipg_validator.cli import app
from ipg_validator.fhir.capabilities import software_version
from ipg_validator.package import write_package
from typer.testing import CliRunner
from conftest import content_files

INDEX_KEYS = {"filename", "resourceType", "id", "url", "version", "kind", "type", "supplements", "content"}


def unpack(tgz: Path, into: Path) -> Path:
    with tarfile.open(tgz, "r:gz") as tar:
        names = tar.getnames()
        assert all(n.startswith("package/") for n in names)
        tar.extractall(into, filter="data")
    return into / "package"


def check_index(folder: Path) -> list[dict]:
    index = orjson.loads((folder / ".index.json").read_bytes())
    assert index["index-version"] == 1
    files = sorted(p.name for p in folder.glob("*.json") if p.name not in ("package.json", ".index.json"))
    assert sorted(f["filename"] for f in index["files"]) == files
    for entry in index["files"]:
        assert set(entry) <= INDEX_KEYS
        resource = orjson.loads((folder / entry["filename"]).read_bytes())
        assert entry["resourceType"] == resource["resourceType"] and entry["id"] == resource["id"]
        assert entry["filename"] == f"{resource['resourceType']}-{resource['id']}.json"
        for key in INDEX_KEYS - {"filename", "resourceType", "id"}:
            assert entry.get(key) == (resource.get(key) if isinstance(resource.get(key), str) else None), key
    return index["files"]


def test_package(tmp_path: Path) -> None:
    tgz, count = write_package(tmp_path / "out")
    assert tgz.name == f"ipg-validator.ipg672-{software_version()}.tgz"
    package = unpack(tgz, tmp_path / "x")
    manifest = orjson.loads((package / "package.json").read_bytes())
    assert manifest["name"] == "ipg-validator.ipg672" and manifest["version"] == software_version()
    assert manifest["fhirVersions"] == ["4.0.1"] and manifest["dependencies"] == {"hl7.fhir.r4.core": "4.0.1"}
    assert manifest["canonical"] == "https://ipg-validator.org/fhir"
    main = check_index(package)
    kinds = {e["resourceType"] for e in main}
    assert kinds >= {"CodeSystem", "ValueSet", "NamingSystem", "StructureDefinition"}
    shipped = {orjson.loads(p.read_bytes()).get("url") for p in content_files()}
    assert {e["url"] for e in main if "url" in e} == shipped - {None}
    examples = check_index(package / "example")
    assert examples and {e["resourceType"] for e in examples} == {"Bundle"}
    assert count == len(main) + len(examples)


def test_package_is_reproducible(tmp_path: Path) -> None:
    first, _ = write_package(tmp_path / "a")
    second, _ = write_package(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()


def test_package_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["package", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ipg-validator.ipg672-" in result.output
    empty = tmp_path / "no-examples"
    empty.mkdir()
    result = CliRunner().invoke(app, ["package", "--out", str(tmp_path / "p2"), "--examples", str(empty)])
    assert result.exit_code == 0
    assert CliRunner().invoke(app, ["package", "--out", str(tmp_path / "p3"), "--examples", str(tmp_path / "missing")]).exit_code == 2


def test_package_without_code_systems(tmp_path: Path) -> None:
    """`--no-code-systems`: the same package less the CodeSystem fragments, for a validator using this server as -tx."""
    full = check_index(unpack(write_package(tmp_path / "full")[0], tmp_path / "f"))
    result = CliRunner().invoke(app, ["package", "--out", str(tmp_path / "tx"), "--no-code-systems"])
    assert result.exit_code == 0, result.output
    lean = check_index(unpack(next((tmp_path / "tx").glob("*.tgz")), tmp_path / "t"))
    assert not [e for e in lean if e["resourceType"] == "CodeSystem"]
    assert lean == [e for e in full if e["resourceType"] != "CodeSystem"]
    assert {e["resourceType"] for e in full} - {e["resourceType"] for e in lean} == {"CodeSystem"}
