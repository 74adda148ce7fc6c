"""NHS code formats: recognise dotless, filler and lower-case forms of OPCS-4 and ICD-10 codes.

Real NHS feeds (CDS, HES) send `J123`, `C787`, `C19X`; FHIR wants `J12.3`, `C78.7`, `C19`.
Each variant is normalised to the dotted code and reported, never accepted silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ..core.systems import ICD10_UK, OPCS4


class Form(Enum):
    CANONICAL = "canonical"
    NHS_FORMAT = "nhs-format"  # recognised variant, normalised with a warning
    CATEGORY_NOTATION = "category-notation"  # `Y89.-`: a category, never recordable
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class Normalised:
    """The outcome of reading a code string in a known NHS format."""

    original: str
    code: str
    form: Form
    changes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.code != self.original


@dataclass(frozen=True, slots=True)
class CodeFormat:
    """How codes of one classification are written."""

    name: str
    canonical: re.Pattern[str]
    example: str
    recorded_length: int | None  # OPCS-4: only 4-character codes are ever recorded

    def structural_parent(self, code: str) -> str | None:
        """The category a code belongs to by its shape (`J12.3` -> `J12`), or None for a category."""
        if "." not in code:
            return None
        head, tail = code.split(".", 1)
        return head if len(tail) == 1 else f"{head}.{tail[:-1]}"


OPCS4_FORMAT = CodeFormat("OPCS-4", re.compile(r"[A-Z][0-9]{2}(\.[0-9])?"), "J12.3", 4)
ICD10_FORMAT = CodeFormat("ICD-10", re.compile(r"[A-Z][0-9]{2}(\.[0-9][0-9A-Z]?)?"), "C78.7", None)

FORMATS: dict[str, CodeFormat] = {OPCS4: OPCS4_FORMAT, ICD10_UK: ICD10_FORMAT}

_OPCS4_DOTLESS = re.compile(r"([A-Z][0-9]{2})([0-9])")
_ICD10_VARIANT = re.compile(r"([A-Z][0-9]{2})\.?(X|[0-9][0-9A-Z]?)?(-)?([AD])?")


def format_for(system: str) -> CodeFormat | None:
    """The NHS code format of a canonical system URI, if it has one."""
    return FORMATS.get(system)


def normalise(system: str, raw: str) -> Normalised:
    """Read `raw` as a code of `system`, recognising the NHS variants of its format."""
    fmt = FORMATS.get(system)
    if fmt is None:
        return Normalised(raw, raw, Form.CANONICAL)
    if fmt.canonical.fullmatch(raw):
        return Normalised(raw, raw, Form.CANONICAL)
    changes: list[str] = []
    text = raw
    if text != text.strip() or re.search(r"\s", text.strip()):
        changes.append("white space removed")
        text = re.sub(r"\s+", "", text)
    if text != text.upper():
        changes.append("upper-cased")
        text = text.upper()
    if text.endswith(".-") and fmt.canonical.fullmatch(text[:-2]):
        return Normalised(raw, text[:-2], Form.CATEGORY_NOTATION, tuple(changes))
    if fmt.canonical.fullmatch(text):
        return Normalised(raw, text, Form.NHS_FORMAT if changes else Form.CANONICAL, tuple(changes))
    reader = _read_opcs4 if fmt is OPCS4_FORMAT else _read_icd10
    code = reader(text, changes)
    if code is None or not fmt.canonical.fullmatch(code):
        return Normalised(raw, text, Form.MALFORMED, tuple(changes))
    return Normalised(raw, code, Form.NHS_FORMAT, tuple(changes))


def _read_opcs4(text: str, changes: list[str]) -> str | None:
    match = _OPCS4_DOTLESS.fullmatch(text)
    if match is None:
        return None
    changes.append("dot inserted (NHS dataset format)")
    return f"{match[1]}.{match[2]}"


def _read_icd10(text: str, changes: list[str]) -> str | None:
    match = _ICD10_VARIANT.fullmatch(text)
    if match is None:
        return None
    category, rest, filler, marker = match.groups()
    if rest == "X":
        changes.append("filler X of an undivided 3-character code removed")
        code = category
    elif rest:
        if "." not in text:
            changes.append("dot inserted (NHS dataset format)")
        code = f"{category}.{rest}"
    else:
        code = category
    if filler:
        changes.append("filler '-' removed")
    if marker:
        changes.append(f"{'dagger' if marker == 'D' else 'asterisk'} marker {marker} removed")
    return code
