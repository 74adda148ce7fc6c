"""NHS code formats: dotless, filler, lower-case and category forms of OPCS-4 and ICD-10 codes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ipg_validator.terminology.formats import Form, normalise

from conftest import ICD10_UK, OPCS4

SETTINGS = settings(max_examples=300, deadline=None)


@pytest.mark.parametrize(
    ("system", "raw", "code", "form"),
    [
        # canonical FHIR codes
        (OPCS4, "J12.3", "J12.3", Form.CANONICAL),
        (OPCS4, "Y89", "Y89", Form.CANONICAL),
        (ICD10_UK, "C78.7", "C78.7", Form.CANONICAL),
        (ICD10_UK, "C19", "C19", Form.CANONICAL),
        (ICD10_UK, "C20", "C20", Form.CANONICAL),
        # NHS dataset forms
        (OPCS4, "J123", "J12.3", Form.NHS_FORMAT),
        (OPCS4, "Y534", "Y53.4", Form.NHS_FORMAT),
        (ICD10_UK, "C787", "C78.7", Form.NHS_FORMAT),
        (ICD10_UK, "Z850", "Z85.0", Form.NHS_FORMAT),
        (ICD10_UK, "C19X", "C19", Form.NHS_FORMAT),
        (ICD10_UK, "C20X", "C20", Form.NHS_FORMAT),
        (ICD10_UK, "C19.X", "C19", Form.NHS_FORMAT),
        (ICD10_UK, "c19x", "C19", Form.NHS_FORMAT),
        # lower case, white space
        (OPCS4, "j12.3", "J12.3", Form.NHS_FORMAT),
        (OPCS4, "j123", "J12.3", Form.NHS_FORMAT),
        (OPCS4, " J12.3 ", "J12.3", Form.NHS_FORMAT),
        (OPCS4, "\tJ123\n", "J12.3", Form.NHS_FORMAT),
        (ICD10_UK, "c78.7", "C78.7", Form.NHS_FORMAT),
        (ICD10_UK, "  C787 ", "C78.7", Form.NHS_FORMAT),
        # filler '-' (5th character) and asterisk/dagger markers (6th character)
        (ICD10_UK, "C787-", "C78.7", Form.NHS_FORMAT),
        (ICD10_UK, "C19X-", "C19", Form.NHS_FORMAT),
        (ICD10_UK, "C787-D", "C78.7", Form.NHS_FORMAT),
        (ICD10_UK, "C787-A", "C78.7", Form.NHS_FORMAT),
        (ICD10_UK, "C19X-D", "C19", Form.NHS_FORMAT),
        (ICD10_UK, "c787-a", "C78.7", Form.NHS_FORMAT),
        # category notation
        (OPCS4, "Y89.-", "Y89", Form.CATEGORY_NOTATION),
        (ICD10_UK, "C18.-", "C18", Form.CATEGORY_NOTATION),
        (OPCS4, "y89.-", "Y89", Form.CATEGORY_NOTATION),
        # malformed
        (OPCS4, "J1231", None, Form.MALFORMED),  # local 5th character on an OPCS-4 code
        (OPCS4, "J12.31", None, Form.MALFORMED),
        (OPCS4, "C7", None, Form.MALFORMED),
        (ICD10_UK, "C7", None, Form.MALFORMED),
        (OPCS4, "12.3", None, Form.MALFORMED),
        (ICD10_UK, "12.3", None, Form.MALFORMED),
        (OPCS4, "", None, Form.MALFORMED),
        (ICD10_UK, "", None, Form.MALFORMED),
        (OPCS4, "   ", None, Form.MALFORMED),
        (OPCS4, "JJ12", None, Form.MALFORMED),
        (ICD10_UK, "JJ12", None, Form.MALFORMED),
        (OPCS4, "C19X", None, Form.MALFORMED),  # X filler is an ICD-10 form, never OPCS-4
        (OPCS4, "J12.", None, Form.MALFORMED),
        (ICD10_UK, "C78..7", None, Form.MALFORMED),
    ],
)
def test_normalise_reference_variants(system: str, raw: str, code: str | None, form: Form) -> None:
    n = normalise(system, raw)
    assert n.form is form
    assert n.original == raw
    if code is not None:
        assert n.code == code
    if form is Form.CANONICAL:
        assert n.changes == ()
        assert n.code == raw
        assert not n.changed
    elif form is Form.NHS_FORMAT:
        assert n.changes, "a normalised code must say what was changed"
        assert n.changed


def test_changes_describe_what_was_done() -> None:
    n = normalise(ICD10_UK, " c787-d ")
    text = " ".join(n.changes).lower()
    assert n.code == "C78.7"
    assert "white space" in text
    assert "upper" in text
    assert "dot" in text
    assert "dagger" in text
    assert "asterisk" in " ".join(normalise(ICD10_UK, "C787-A").changes).lower()


def test_unknown_system_is_returned_as_is() -> None:
    n = normalise("http://example.org/cs", " j123 ")
    assert n.code == " j123 "
    assert n.form is Form.CANONICAL


# -- properties ---------------------------------------------------------------------------

LETTER = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGIT = st.sampled_from("0123456789")
OPCS4_CODE = st.builds(lambda a, b, c, d: f"{a}{b}{c}.{d}", LETTER, DIGIT, DIGIT, DIGIT)
CATEGORY = st.builds(lambda a, b, c: f"{a}{b}{c}", LETTER, DIGIT, DIGIT)
PADDING = st.text(alphabet=" \t", min_size=0, max_size=3)


@SETTINGS
@given(OPCS4_CODE, st.booleans(), st.booleans(), PADDING, PADDING)
def test_opcs4_variants_normalise_back(code: str, dotless: bool, lower: bool, left: str, right: str) -> None:
    raw = code.replace(".", "") if dotless else code
    raw = raw.lower() if lower else raw
    raw = f"{left}{raw}{right}"
    n = normalise(OPCS4, raw)
    assert n.code == code
    if raw == code:
        assert n.form is Form.CANONICAL
        assert n.changes == ()
    else:
        assert n.form is Form.NHS_FORMAT
        assert n.changes
    # the same code string is also an ICD-10 code shape
    assert normalise(ICD10_UK, raw).code == code


@SETTINGS
@given(st.one_of(OPCS4_CODE, CATEGORY))
def test_canonical_codes_are_unchanged(code: str) -> None:
    for system in (OPCS4, ICD10_UK):
        n = normalise(system, code)
        assert n.form is Form.CANONICAL
        assert n.code == code
        assert n.changes == ()


@SETTINGS
@given(CATEGORY, st.sampled_from(["X", ".X", "x", ".x", "X-", "X-D", "X-A"]), st.booleans(), PADDING)
def test_icd10_three_character_codes_with_x_filler(category: str, suffix: str, lower: bool, pad: str) -> None:
    raw = category + suffix
    raw = pad + (raw.lower() if lower else raw) + pad
    n = normalise(ICD10_UK, raw)
    assert n.code == category
    assert n.form is Form.NHS_FORMAT
    assert n.changes


@SETTINGS
@given(st.sampled_from([OPCS4, ICD10_UK]), st.text(max_size=12))
def test_normalise_never_raises_and_is_idempotent(system: str, raw: str) -> None:
    n = normalise(system, raw)
    assert isinstance(n.form, Form)
    if n.form is not Form.MALFORMED:
        again = normalise(system, n.code)
        assert again.code == n.code
        assert again.form is Form.CANONICAL


@SETTINGS
@given(
    st.sampled_from([OPCS4, ICD10_UK]),
    st.text(alphabet="ABCJXYZabcxy0123456789.-_ \tAD", max_size=9),
)
def test_normalise_on_code_like_text(system: str, raw: str) -> None:
    n = normalise(system, raw)
    if n.form is not Form.MALFORMED:
        assert normalise(system, n.code).code == n.code
        assert n.code == n.code.strip().upper()
        assert " " not in n.code
    if system == OPCS4 and n.form in (Form.CANONICAL, Form.NHS_FORMAT):
        # OPCS-4 codes are a category or a 4-character code: never longer
        assert len(n.code.replace(".", "")) in (3, 4)
