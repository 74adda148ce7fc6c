"""The built wheel carries the shipped content and works without the checkout."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import GUIDANCE_DIR, PROFILES_DIR, ROOT, VALUESETS_DIR, content_files

pytestmark = pytest.mark.slow


def _build(outdir: Path) -> Path:
    attempts = []
    if importlib.util.find_spec("hatchling") is not None:
        attempts.append([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(outdir), str(ROOT)])
    attempts.append([sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(ROOT)])
    attempts.append([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-w", str(outdir)])
    log = []
    for cmd in attempts:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=outdir)
        wheels = sorted(outdir.glob("ipg_validator-*.whl"))
        if proc.returncode == 0 and wheels:
            return wheels[-1]
        log.append(f"{' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    pytest.fail("could not build the wheel:\n" + "\n".join(log))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def unpacked(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    return target


def test_wheel_carries_the_content(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    valuesets = sorted(p.name for p in VALUESETS_DIR.glob("*.json"))
    assert valuesets
    for name in valuesets:
        assert f"ipg_validator/_content/valuesets/{name}" in names
    for path in sorted(PROFILES_DIR.rglob("*.json")) if PROFILES_DIR.is_dir() else []:
        assert f"ipg_validator/_content/profiles/{path.relative_to(PROFILES_DIR).as_posix()}" in names
    for path in sorted(GUIDANCE_DIR.rglob("*")):  # the packs: rules, ValueSets, profiles and examples
        if path.is_file():
            assert f"ipg_validator/_content/guidance/{path.relative_to(GUIDANCE_DIR).as_posix()}" in names
    assert "ipg_validator/content/loader.py" in names
    assert "ipg_validator/terminology/validate.py" in names
    assert not any(n.startswith(("plugin/", "tests/", "valuesets/", "tools/", "conformance/", "ipg_validator/conformance/")) for n in names)
    assert "ipg_validator/core/results.py" in names and "ipg_validator/fhir/terminology_ops.py" in names


def test_wheel_content_is_identical_to_the_checkout(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        for path in VALUESETS_DIR.glob("*.json"):
            assert json.loads(zf.read(f"ipg_validator/_content/valuesets/{path.name}")) == json.loads(path.read_text(encoding="utf-8"))
        for path in GUIDANCE_DIR.rglob("*.json"):
            packed = zf.read(f"ipg_validator/_content/guidance/{path.relative_to(GUIDANCE_DIR).as_posix()}")
            assert json.loads(packed) == json.loads(path.read_text(encoding="utf-8"))


SCRIPT = r"""
import json, sys
sys.path[:] = [p for p in sys.path if p not in ("", ".") and not p.startswith(sys.argv[2])]
sys.path.insert(0, sys.argv[1])
import ipg_validator
from pathlib import Path
from ipg_validator.content.loader import load_content
from ipg_validator.core.results import Coding
from ipg_validator.terminology.sources import SourceChain
from ipg_validator.core.systems import OPCS4
from ipg_validator.terminology.validate import validate_code
index = load_content()
sources = SourceChain([index])
vs = sources.value_set("https://ipg-validator.org/fhir/ValueSet/ipg672-procedures")
ok = validate_code(sources, [Coding(system=OPCS4, code="J12.3")], value_set=vs)
bad = validate_code(sources, [Coding(system=OPCS4, code="J12.4")], value_set=vs)
print(json.dumps({
    "file": str(Path(ipg_validator.__file__).resolve()),
    "sources": list(index.sources),
    "counts": index.counts(),
    "ok": [ok.result, ok.display, [i.text for i in ok.issues]],
    "bad": bad.result,
}))
"""


def test_wheel_works_without_the_checkout(unpacked: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-I", "-c", SCRIPT, str(unpacked), str(ROOT / "plugin")],
        capture_output=True, text=True, timeout=120, cwd=unpacked,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    root = unpacked.resolve()
    assert Path(out["file"]).is_relative_to(root), out["file"]
    assert out["sources"], out
    assert all(Path(s).resolve().is_relative_to(root) for s in out["sources"]), out["sources"]
    assert not any(str(ROOT) in s for s in out["sources"])
    assert out["counts"]["CodeSystem"] == 2
    assert out["counts"]["ValueSet"] == len(content_files("ValueSet-*.json"))
    assert out["ok"] == [True, "Selective internal radiotherapy with microspheres to lesion of liver", []]
    assert out["bad"] is False
