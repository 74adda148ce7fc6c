"""Reading NHS TRUD OPCS-4 and ICD-10 files into FHIR CodeSystems."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources.R4B.codesystem import CodeSystem
from ipg_validator.content.trud import (
    TrudFormatError,
    import_trud,
    read_icd10,
    read_opcs4,
)
from ipg_validator.core.systems import ICD10_UK, OPCS4
from support.trudgen import (
    ICD10_COLUMNS,
    ICD10_FILE_NAME,
    OPCS411_FILE_NAME,
    REAL_ICD10,
    REAL_OPCS4,
    full_size_icd10_rows,
    full_size_opcs4_rows,
    icd10_row,
    small_icd10_rows,
    small_opcs4_rows,
    write_icd10_file,
    write_opcs4_file,
)

OPCS4_CATEGORIES = {"J12", "X65", "Y35", "Y36", "Y53", "Y79", "Y89"}
ICD10_CATEGORIES = {"C17", "C18", "C78", "M54", "M54.5", "Z85"}


def walk(
    concepts: list[dict[str, Any]], parent: str | None = None
) -> Iterator[tuple[str | None, dict]]:
    """Every concept of a nested list, with its parent's code."""
    for concept in concepts:
        yield parent, concept
        yield from walk(concept.get("concept", []), concept["code"])


def index(cs: dict[str, Any]) -> dict[str, tuple[str | None, dict]]:
    return {
        concept["code"]: (parent, concept) for parent, concept in walk(cs["concept"])
    }


def props(concept: dict[str, Any]) -> dict[str, Any]:
    return {
        p["code"]: p.get("valueString", p.get("valueBoolean"))
        for p in concept.get("property", [])
    }


def children(concept: dict[str, Any]) -> list[str]:
    return [child["code"] for child in concept.get("concept", [])]


@pytest.fixture
def opcs_file(tmp_path: Path) -> Path:
    return write_opcs4_file(tmp_path / OPCS411_FILE_NAME, small_opcs4_rows())


@pytest.fixture
def icd10_file(tmp_path: Path) -> Path:
    return write_icd10_file(tmp_path / ICD10_FILE_NAME, small_icd10_rows())


def test_generated_files_have_trud_shape(opcs_file: Path, icd10_file: Path) -> None:
    opcs = opcs_file.read_bytes()
    assert b"J12\tOther therapeutic percutaneous operations on liver\r\n" in opcs
    assert not opcs.startswith(b"CODE")
    icd = icd10_file.read_bytes().split(b"\r\n")
    assert icd[0] == "\t".join(ICD10_COLUMNS).encode()
    assert all(line.count(b"\t") == 11 for line in icd if line)
    assert any(line.startswith(b"C18.-\tC18\t") for line in icd)
    assert any(line.startswith(b"C19\tC19X\t") for line in icd)


def test_opcs4_codesystem(opcs_file: Path) -> None:
    cs = read_opcs4(opcs_file)
    assert cs["resourceType"] == "CodeSystem"
    assert (cs["url"], cs["id"], cs["version"]) == (OPCS4, "opcs-4-4-11", "4.11")
    assert (cs["name"], cs["title"]) == (
        "OPCS4",
        "OPCS-4 Classification of Interventions and Procedures",
    )
    assert (cs["status"], cs["content"], cs["hierarchyMeaning"]) == (
        "active",
        "complete",
        "is-a",
    )
    assert cs["caseSensitive"] is True and cs["versionNeeded"] is False
    assert OPCS411_FILE_NAME in cs["description"]
    assert (
        cs["publisher"]
        == "NHS England (imported from a TRUD release by ipg-validator import-trud)"
    )
    assert [p["code"] for p in cs["property"]] == ["notSelectable"]
    assert (
        cs["property"][0]["uri"]
        == "http://hl7.org/fhir/concept-properties#notSelectable"
    )
    concepts = index(cs)
    assert cs["count"] == len(concepts) == len(REAL_OPCS4) + 5 == 24
    for code, title in REAL_OPCS4:
        assert concepts[code][1]["display"] == title


def test_opcs4_hierarchy_and_not_selectable(opcs_file: Path) -> None:
    cs = read_opcs4(opcs_file)
    concepts = index(cs)
    assert [c["code"] for c in cs["concept"]] == sorted(OPCS4_CATEGORIES)
    assert concepts["J12.3"][0] == "J12"
    assert children(concepts["J12"][1]) == ["J12.3", "J12.4", "J12.7", "J12.8", "J12.9"]
    assert concepts["Y36.4"][0] == "Y36"
    assert children(concepts["Y89"][1]) == ["Y89.1", "Y89.2", "Y89.9"]
    flagged = {
        code
        for code, (_, c) in concepts.items()
        if props(c).get("notSelectable") is True
    }
    assert flagged == OPCS4_CATEGORIES
    assert "property" not in concepts["J12.3"][1]


def test_icd10_codesystem(icd10_file: Path) -> None:
    cs = read_icd10(icd10_file)
    assert (cs["url"], cs["id"], cs["version"]) == (ICD10_UK, "icd-10-uk-5-0", "5.0")
    assert (cs["name"], cs["title"]) == ("ICD10UK", "ICD-10 5th Edition (UK)")
    assert ICD10_FILE_NAME in cs["description"]
    declared = {p["code"]: p for p in cs["property"]}
    assert list(declared) == [
        "notSelectable", "alt-code", "usage", "usage-uk", "modifier-4", "modifier-5",
        "qualifiers", "gender-mask", "min-age", "max-age", "tree-description",
    ]  # fmt: skip
    assert (
        declared["alt-code"]["uri"]
        == "https://ipg-validator.org/fhir/CodeSystem/icd-10-uk-properties#alt-code"
    )
    assert {p["type"] for code, p in declared.items() if code != "notSelectable"} == {
        "string"
    }
    concepts = index(cs)
    assert cs["count"] == len(concepts) == len(REAL_ICD10) + 6 == 40
    for code, title in REAL_ICD10:
        assert concepts[code][1]["display"] == title
    assert "C18.-" not in concepts


def test_icd10_hierarchy_and_properties(icd10_file: Path) -> None:
    concepts = index(read_icd10(icd10_file))
    assert children(concepts["C18"][1]) == [f"C18.{i}" for i in range(10)]
    assert concepts["C18.7"][0] == "C18"
    parent, c19 = concepts["C19"]
    assert parent is None and "concept" not in c19
    assert props(c19) == {
        "alt-code": "C19X",
        "usage": "DEFAULT",
        "usage-uk": "3",
        "tree-description": "Malignant neoplasm of rectosigmoid junction",
    }
    assert props(concepts["C18"][1])["alt-code"] == "C18"
    assert props(concepts["C78.7"][1])["alt-code"] == "C787"
    assert concepts["M54.56"][0] == "M54.5" and concepts["M54.5"][0] == "M54"
    assert "modifier-4" not in props(concepts["M54.56"][1])  # empty columns are omitted
    assert props(concepts["M54.56"][1])["min-age"] == "18"
    assert props(concepts["M54.56"][1])["gender-mask"] == "2"
    flagged = {
        code
        for code, (_, c) in concepts.items()
        if props(c).get("notSelectable") is True
    }
    assert flagged == ICD10_CATEGORIES


def test_icd10_columns_found_by_name(tmp_path: Path) -> None:
    columns = ("DESCRIPTION", "MAX_AGE", "CODE", "ALT_CODE")
    rows = [
        icd10_row("C18", "Malignant neoplasm of colon", category=True),
        icd10_row("C18.7", "S", MAX_AGE="99"),
    ]
    cs = read_icd10(
        write_icd10_file(tmp_path / "icd.txt", rows, columns=columns), version="5.1"
    )
    assert cs["id"] == "icd-10-uk-5-1"
    assert [p["code"] for p in cs["property"]] == [
        "notSelectable",
        "alt-code",
        "max-age",
    ]
    concepts = index(cs)
    assert concepts["C18.7"] == ("C18", {"code": "C18.7", "display": "S", "property": [
        {"code": "alt-code", "valueString": "C187"}, {"code": "max-age", "valueString": "99"},
    ]})  # fmt: skip


def test_missing_parent_makes_a_root(tmp_path: Path) -> None:
    rows = [("J12.3", "a"), ("M54.56", "b"), ("M54", "c")]
    cs = read_opcs4(write_opcs4_file(tmp_path / "x.txt", rows), version="4.10")
    assert [c["code"] for c in cs["concept"]] == ["J12.3", "M54.56", "M54"]
    assert all("property" not in c for c in cs["concept"])


def test_children_keep_file_order_when_listed_before_parent(tmp_path: Path) -> None:
    rows = [("J12.8", "a"), ("J12.3", "b"), ("J12", "c")]
    cs = read_opcs4(write_opcs4_file(tmp_path / "x.txt", rows), version="4.11")
    assert [c["code"] for c in cs["concept"]] == ["J12"]
    assert children(cs["concept"][0]) == ["J12.8", "J12.3"]


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("OPCS411 CodesAndTitles Nov 2025 V1.0.txt", None, "4.11"),
        ("OPCS410 CodesAndTitles Apr 2023 V1.0.txt", None, "4.10"),
        ("OPCS410 CodesAndTitles Apr 2023 V1.0.txt", "4.10.1", "4.10.1"),
        ("codes.txt", "4.11", "4.11"),
    ],
)
def test_opcs4_version(
    tmp_path: Path, name: str, version: str | None, expected: str
) -> None:
    cs = read_opcs4(write_opcs4_file(tmp_path / name, REAL_OPCS4), version)
    assert cs["version"] == expected
    assert cs["id"] == "opcs-4-" + expected.replace(".", "-")


def test_opcs4_version_required_when_file_name_has_none(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="edition"):
        read_opcs4(write_opcs4_file(tmp_path / "codes.txt", REAL_OPCS4))


def test_cp1252_fallback(tmp_path: Path) -> None:
    title = "Synthetic test title – café"
    path = write_opcs4_file(
        tmp_path / OPCS411_FILE_NAME,
        [("J12", "x"), ("J12.9", title)],
        encoding="cp1252",
    )
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    assert index(read_opcs4(path))["J12.9"][1]["display"] == title
    rows = [
        icd10_row("C17", "Synthetic test title – Ménétrier", category=True),
        icd10_row("C17.0", "y"),
    ]
    cs = read_icd10(
        write_icd10_file(tmp_path / ICD10_FILE_NAME, rows, encoding="cp1252")
    )
    assert index(cs)["C17"][1]["display"] == "Synthetic test title – Ménétrier"


def test_utf8_bom_tolerated(tmp_path: Path) -> None:
    cs = read_icd10(
        write_icd10_file(
            tmp_path / ICD10_FILE_NAME, small_icd10_rows(), encoding="utf-8-sig"
        )
    )
    assert cs["count"] == 40
    path = write_opcs4_file(
        tmp_path / OPCS411_FILE_NAME, [("J12", "Titre – é")], encoding="utf-8-sig"
    )
    assert read_opcs4(path)["concept"][0] == {"code": "J12", "display": "Titre – é"}


OPCS_BAD = [
    (["J12\tOther\textra"], "expected 2"),
    (["J12"], "expected 2"),
    (["\tNo code"], "empty code"),
    (["J12.4\tA", "J12.4\tB"], "duplicate code 'J12.4'"),
    (["J123\tDotless"], "malformed code 'J123'"),
    (["j12.3\tLower case"], "malformed code 'j12.3'"),
    (["J12.345\tToo long"], "malformed code"),
    (["J12.4\t "], "empty title"),
]


@pytest.mark.parametrize(("bad", "message"), OPCS_BAD)
def test_opcs4_errors_name_file_and_line(
    tmp_path: Path, bad: list[str], message: str
) -> None:
    lines = [
        "J12\tOther therapeutic percutaneous operations on liver",
        "J12.3\tSIRT",
        *bad,
    ]
    path = tmp_path / OPCS411_FILE_NAME
    path.write_bytes("\r\n".join(lines).encode())
    with pytest.raises(TrudFormatError) as caught:
        read_opcs4(path)
    assert caught.value.line == len(lines)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{path}: line {len(lines)}: ")
    assert message in str(caught.value)


ICD_BAD = [
    (["C18.7\tC187\tDEFAULT"], "expected 12 tab-separated columns, found 3"),
    (["C17.-\tC17" + "\t" * 10], "empty title"),
    (
        ["C18.7\tC187\t\t\tDup" + "\t" * 7, "C18.7\tC187\t\t\tDup" + "\t" * 7],
        "duplicate code 'C18.7'",
    ),
    (["C18\tC18X\t\t\tDup" + "\t" * 7], "duplicate code 'C18'"),
    (["C1.8\tC18\t\t\tBad" + "\t" * 7], "malformed code 'C1.8'"),
    (["C18-\tC18\t\t\tBad" + "\t" * 7], "malformed code 'C18-'"),
    (["\tC18\t\t\tNo code" + "\t" * 7], "empty code"),
]


@pytest.mark.parametrize(("bad", "message"), ICD_BAD)
def test_icd10_errors_name_file_and_line(
    tmp_path: Path, bad: list[str], message: str
) -> None:
    good = [
        "\t".join(ICD10_COLUMNS),
        "C18.-\tC18\tDEFAULT\t3\tMalignant neoplasm of colon" + "\t" * 7,
    ]
    lines = good + bad
    path = tmp_path / ICD10_FILE_NAME
    path.write_bytes("\r\n".join(lines).encode() + b"\r\n")
    with pytest.raises(TrudFormatError) as caught:
        read_icd10(path)
    assert str(caught.value).startswith(f"{path}: line {len(lines)}: ")
    assert message in str(caught.value)


def test_icd10_missing_header_column(tmp_path: Path) -> None:
    columns = [c for c in ICD10_COLUMNS if c != "DESCRIPTION"]
    path = write_icd10_file(
        tmp_path / ICD10_FILE_NAME, small_icd10_rows(), columns=columns
    )
    with pytest.raises(
        TrudFormatError, match=r"line 1: header has no DESCRIPTION column"
    ) as caught:
        read_icd10(path)
    assert ICD10_FILE_NAME in str(caught.value)


@pytest.mark.parametrize("content", [b"", b"\r\n", b"\xef\xbb\xbf"])
def test_empty_files(tmp_path: Path, content: bytes) -> None:
    for name, reader in (
        (OPCS411_FILE_NAME, read_opcs4),
        (ICD10_FILE_NAME, read_icd10),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(TrudFormatError, match=r"line 1: file is empty") as caught:
            reader(path)
        assert name in str(caught.value)


def test_icd10_header_only(tmp_path: Path) -> None:
    path = write_icd10_file(tmp_path / ICD10_FILE_NAME, [])
    with pytest.raises(
        TrudFormatError, match=r"line 1: file has a header row but no codes"
    ):
        read_icd10(path)


def test_import_trud_writes_valid_codesystems(
    tmp_path: Path, opcs_file: Path, icd10_file: Path
) -> None:
    out = tmp_path / "out" / "terminology"
    written = import_trud(opcs_file, icd10_file, out)
    assert written == [
        out / "CodeSystem-opcs-4-4-11.json",
        out / "CodeSystem-icd-10-uk-5-0.json",
    ]
    for path, count in zip(written, (24, 40), strict=True):
        data = orjson.loads(path.read_bytes())
        assert path.read_text().startswith('{\n  "resourceType": "CodeSystem"')
        cs = CodeSystem.model_validate(data)
        assert cs.count == count and cs.content == "complete"
    assert import_trud(None, icd10_file, tmp_path / "only") == [
        tmp_path / "only" / "CodeSystem-icd-10-uk-5-0.json"
    ]
    with pytest.raises(ValueError, match="needs"):
        import_trud(None, None, tmp_path / "none")


def test_full_size_releases(tmp_path: Path) -> None:
    opcs_rows, icd_rows = full_size_opcs4_rows(), full_size_icd10_rows()
    assert (
        opcs_rows == full_size_opcs4_rows() and icd_rows == full_size_icd10_rows()
    )  # deterministic
    assert set(small_opcs4_rows()) <= set(opcs_rows)
    assert all(row in icd_rows for row in small_icd10_rows())
    opcs = read_opcs4(write_opcs4_file(tmp_path / OPCS411_FILE_NAME, opcs_rows))
    icd = read_icd10(write_icd10_file(tmp_path / ICD10_FILE_NAME, icd_rows))
    for cs in (opcs, icd):
        assert 11_500 <= cs["count"] <= 12_500
        assert len(index(cs)) == cs["count"]
        assert CodeSystem.model_validate(cs).count == cs["count"]
    opcs_concepts, icd_concepts = index(opcs), index(icd)
    for code, title in REAL_OPCS4:
        assert opcs_concepts[code][1]["display"] == title
    for code, title in REAL_ICD10:
        assert icd_concepts[code][1]["display"] == title
    assert opcs_concepts["J12.3"][0] == "J12" and opcs_concepts["Y89.1"][0] == "Y89"
    assert (
        opcs_concepts["X65.3"][1]["display"]
        == "Delivery of a fraction of interstitial radiotherapy"
    )
    assert (
        icd_concepts["C78.7"][1]["display"]
        == "Secondary malignant neoplasm of liver and intrahepatic bile duct"
    )
    assert (
        icd_concepts["Z85.0"][1]["display"]
        == "Personal history of malignant neoplasm of digestive organs"
    )
    assert children(icd_concepts["C18"][1]) == [f"C18.{i}" for i in range(10)]
    for undivided in ("C19", "C20"):
        assert (
            icd_concepts[undivided][0] is None
            and "concept" not in icd_concepts[undivided][1]
        )
