"""Full-size OPCS-4 and ICD-10 releases (generated in the TRUD shapes): they replace the fragments."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest
from support.trudgen import (
    ICD10_FILE_NAME,
    OPCS411_FILE_NAME,
    full_size_icd10_rows,
    full_size_opcs4_rows,
    write_icd10_file,
    write_opcs4_file,
)

from ipg_validator import Terminology, load_content
from ipg_validator.content.trud import import_trud
from ipg_validator.core.systems import ICD10_UK, OPCS4

PROCEDURES = "https://ipg-validator.org/fhir/ValueSet/ipg672-procedures"
DIAGNOSES = "https://ipg-validator.org/fhir/ValueSet/ipg672-diagnoses"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("trud")
    opcs = write_opcs4_file(folder / OPCS411_FILE_NAME, full_size_opcs4_rows())
    icd10 = write_icd10_file(folder / ICD10_FILE_NAME, full_size_icd10_rows())
    out = folder / "content"
    import_trud(opcs, icd10, out)
    return out


@pytest.fixture(scope="module")
def tx(release: Path) -> Terminology:
    start = time.perf_counter()
    index = load_content([release])
    elapsed = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nfull-size releases loaded in {elapsed:.3f} s; peak RSS of the test process {rss:.0f} MB")
    return Terminology(index)


def test_complete_releases_replace_the_fragments(tx: Terminology) -> None:
    for url in (OPCS4, ICD10_UK):
        cs = tx.index.code_system(url)
        assert cs is not None and cs.content == "complete" and len(cs.concepts) >= 11_000
    assert sorted(tx.index.replaced) == sorted([f"{ICD10_UK}|5.0", f"{OPCS4}|4.11"])
    assert all(r.get("content") == "complete" for r in tx.index.resources["CodeSystem"])


def test_unknown_code_is_an_error_once_the_full_release_is_loaded(tx: Terminology) -> None:
    result = tx.validate_code(None, OPCS4, "J12.6")
    assert not result.result
    assert [(i.severity, i.tx_code) for i in result.issues] == [("error", "invalid-code")]
    assert "J12.6" in result.issues[0].text


def test_y89_subcodes_come_from_the_release(tx: Terminology) -> None:
    codes = [item.code for item in tx.expand(PROCEDURES).items]
    assert codes == ["J12.3", "X65.3", "Y36.4", "Y53.4", "Y89.1", "Y89.2", "Y89.9"]
    assert tx.validate_code(PROCEDURES, OPCS4, "Y89.2").result
    assert not tx.validate_code(PROCEDURES, OPCS4, "Y89.5").result


def test_diagnoses_unchanged_and_metadata_kept(tx: Terminology) -> None:
    expected = {f"C18.{n}" for n in range(10)} | {"C19", "C20", "C78.7", "Z85.0"}
    assert {item.code for item in tx.expand(DIAGNOSES).items} == expected
    found = tx.lookup(ICD10_UK, "C19X")
    assert found.found and found.code == "C19"
    assert ("alt-code", "C19X") in found.properties
    assert tx.validate_code(DIAGNOSES, ICD10_UK, "C18.7", "Malignant neoplasm: Sigmoid colon").result


def test_nhs_formats_still_normalised(tx: Terminology) -> None:
    result = tx.validate_code(PROCEDURES, "https://fhir.nhs.uk/Id/opcs-4", "j123")
    assert result.result and result.code == "J12.3"
    assert sorted(i.message_id for i in result.issues) == ["NHS_CODE_FORMAT", "SYSTEM_ALIAS"]

