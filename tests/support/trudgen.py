"""Writers of test files in exactly the shapes of the NHS TRUD OPCS-4 and ICD-10 releases.

The real releases are licensed and cannot be shipped. The "small" rows hold every code and
title confirmed in the IPG672 coding reference plus a few codes titled "Synthetic test
title ..."; the "full-size" rows add deterministic synthetic codes up to release size.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

ICD10_COLUMNS = (
    "CODE",
    "ALT_CODE",
    "USAGE",
    "USAGE_UK",
    "DESCRIPTION",
    "MODIFIER_4",
    "MODIFIER_5",
    "QUALIFIERS",
    "GENDER_MASK",
    "MIN_AGE",
    "MAX_AGE",
    "TREE_DESCRIPTION",
)

OPCS411_FILE_NAME = "OPCS411 CodesAndTitles Nov 2025 V1.0.txt"
ICD10_FILE_NAME = "ICD10_Edition5_CodesAndTitlesAndMetadata_GB_20160401.txt"

# Codes and titles confirmed in the IPG672 coding reference.
REAL_OPCS4: tuple[tuple[str, str], ...] = (
    ("J12", "Other therapeutic percutaneous operations on liver"),
    ("J12.3", "Selective internal radiotherapy with microspheres to lesion of liver"),
    ("J12.4", "Percutaneous radiofrequency ablation of lesion of liver"),
    ("J12.7", "Percutaneous microwave ablation of lesion of liver"),
    ("J12.8", "Other specified other therapeutic percutaneous operations on liver"),
    ("X65", "Radiotherapy delivery"),
    ("X65.2", "Delivery of a fraction of intracavitary radiotherapy"),
    ("X65.3", "Delivery of a fraction of interstitial radiotherapy"),
    ("X65.8", "Other specified radiotherapy delivery"),
    ("Y35.4", "Introduction of radioactive substance into organ for brachytherapy NOC"),
    (
        "Y36.4",
        "Introduction of non-removable radioactive substance into organ for brachytherapy NOC",
    ),
    ("Y53", "Approach to organ under image control"),
    ("Y53.2", "Approach to organ under ultrasonic control"),
    ("Y53.4", "Approach to organ under fluoroscopic control"),
    ("Y53.9", "Unspecified approach to organ under image control"),
    ("Y79", "Approach to organ through artery"),
    ("Y79.3", "Transluminal approach to organ through femoral artery"),
    ("Y89", "Brachytherapy"),
    ("Y89.1", "High dose rate brachytherapy treatment"),
)

_C18 = (
    "Caecum", "Appendix", "Ascending colon", "Hepatic flexure", "Transverse colon",
    "Splenic flexure", "Descending colon", "Sigmoid colon", "Overlapping lesion of colon",
    "Colon, unspecified",
)  # fmt: skip
_C78 = (
    "lung", "mediastinum", "pleura", "other and unspecified respiratory organs",
    "small intestine", "large intestine and rectum", "retroperitoneum and peritoneum",
    "liver and intrahepatic bile duct", "other and unspecified digestive organs",
)  # fmt: skip
_Z85 = (
    "Personal history of malignant neoplasm of digestive organs",
    "Personal history of malignant neoplasm of trachea, bronchus and lung",
    "Personal history of malignant neoplasm of other respiratory and intrathoracic organs",
    "Personal history of malignant neoplasm of breast",
    "Personal history of malignant neoplasm of genital organs",
    "Personal history of malignant neoplasm of urinary tract",
    "Personal history of leukaemia",
    "Personal history of other malignant neoplasms of lymphoid, haematopoietic and related tissues",
    "Personal history of malignant neoplasms of other organs and systems",
    "Personal history of malignant neoplasm, unspecified",
)
REAL_ICD10: tuple[tuple[str, str], ...] = (
    ("C18", "Malignant neoplasm of colon"),
    *((f"C18.{i}", f"Malignant neoplasm: {t}") for i, t in enumerate(_C18)),
    ("C19", "Malignant neoplasm of rectosigmoid junction"),
    ("C20", "Malignant neoplasm of rectum"),
    ("C78", "Secondary malignant neoplasm of respiratory and digestive organs"),
    *((f"C78.{i}", f"Secondary malignant neoplasm of {t}") for i, t in enumerate(_C78)),
    ("Z85", "Personal history of malignant neoplasm"),
    *((f"Z85.{i}", t) for i, t in enumerate(_Z85)),
)

_SYNTHETIC_OPCS4 = ("J12.9", "Y35", "Y36", "Y89.2", "Y89.9")
_SYNTHETIC_ICD10 = ("C17", "C17.0", "C17.9", "M54", "M54.5", "M54.56")


def synthetic_title(code: str) -> str:
    """A title that cannot be mistaken for a real one."""
    return f"Synthetic test title {code}"


def write_opcs4_file(
    path: Path, rows: Iterable[tuple[str, str]], *, encoding: str = "utf-8"
) -> Path:
    """Write an OPCS-4 `CodesAndTitles` file: no header, code TAB title, CRLF line ends."""
    lines = [f"{code}\t{title}" for code, title in rows]
    return _write(path, lines, encoding)


def write_icd10_file(
    path: Path,
    rows: Iterable[Mapping[str, str]],
    *,
    columns: Sequence[str] = ICD10_COLUMNS,
    encoding: str = "utf-8",
) -> Path:
    """Write an ICD-10 `CodesAndTitlesAndMetadata` file: header row, TAB separated, CRLF."""
    lines = ["\t".join(columns)]
    lines += ["\t".join(row.get(column, "") for column in columns) for row in rows]
    return _write(path, lines, encoding)


def icd10_row(
    code: str, title: str, *, category: bool = False, **meta: str
) -> dict[str, str]:
    """One ICD-10 row as TRUD writes it: `C18.-`/`C18` for a category, `C19`/`C19X` undivided."""
    dotless = code.replace(".", "")
    row = {
        "CODE": f"{code}.-" if category else code,
        "ALT_CODE": dotless if category or len(dotless) > 3 else f"{dotless}X",
        "USAGE": "DEFAULT",
        "USAGE_UK": "3",
        "DESCRIPTION": title,
        "TREE_DESCRIPTION": title,
    }
    row.update(meta)
    return row


def small_opcs4_rows() -> list[tuple[str, str]]:
    """The confirmed OPCS-4 codes and titles plus a few synthetic ones, in code order."""
    rows = list(REAL_OPCS4) + [
        (code, synthetic_title(code)) for code in _SYNTHETIC_OPCS4
    ]
    return sorted(rows)


def small_icd10_rows() -> list[dict[str, str]]:
    """The confirmed ICD-10 codes and titles plus a few synthetic ones, as TRUD rows."""
    titles = dict(REAL_ICD10) | {
        code: synthetic_title(code) for code in _SYNTHETIC_ICD10
    }
    return _icd10_rows(titles)


def full_size_opcs4_rows(n: int = 12000) -> list[tuple[str, str]]:
    """About `n` deterministic OPCS-4 rows, containing every small row unchanged."""
    titles = _full_size(
        dict(small_opcs4_rows()), n, letters="ABCDEFGHJKLMNPQRSTUVWXYZ", seed=4
    )
    return sorted(titles.items())


def full_size_icd10_rows(n: int = 12000) -> list[dict[str, str]]:
    """About `n` deterministic ICD-10 rows, containing every small row unchanged."""
    small = {_plain(row["CODE"]): row["DESCRIPTION"] for row in small_icd10_rows()}
    return _icd10_rows(
        _full_size(small, n, letters="ABCDEFGHIJKLMNOPQRSTVWXYZ", seed=10)
    )


def _plain(code: str) -> str:
    return code.removesuffix(".-")


def _icd10_rows(titles: Mapping[str, str]) -> list[dict[str, str]]:
    """Rows in code order; a 3-character code with subcodes is written as a `.-` category."""
    parents = {code[:3] for code in titles if len(code) > 3}
    rows = []
    for code in sorted(titles):
        meta = {"GENDER_MASK": "2", "MIN_AGE": "18"} if code.startswith("M54.5") else {}
        rows.append(
            icd10_row(
                code, titles[code], category=code in parents and len(code) == 3, **meta
            )
        )
    return rows


def _full_size(
    small: Mapping[str, str], n: int, *, letters: str, seed: int
) -> dict[str, str]:
    """Add synthetic categories (with .0-.9 subcodes) to `small` until it holds `n` codes.

    Categories that occur in `small` are kept exactly as they are, so real undivided codes
    (C19, C20) stay undivided and real categories gain no invented subcodes.
    """
    rng = random.Random(seed)
    titles = dict(small)
    taken = {code[:3] for code in small}
    candidates = [
        f"{letter}{number:02d}" for letter in letters for number in range(100)
    ]
    rng.shuffle(candidates)
    for category in candidates:
        if len(titles) >= n:
            break
        if category in taken:
            continue
        titles[category] = synthetic_title(category)
        digits = sorted(rng.sample(range(10), rng.randint(0, 9)))
        if (
            digits and rng.random() < 0.6
        ):  # most real categories end .8 "other" / .9 "unspecified"
            digits = sorted({*digits, 8, 9})
        for digit in digits[: max(0, n - len(titles))]:
            titles[f"{category}.{digit}"] = synthetic_title(f"{category}.{digit}")
    return titles


def _write(path: Path, lines: Sequence[str], encoding: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("".join(f"{line}\r\n" for line in lines).encode(encoding))
    return path
