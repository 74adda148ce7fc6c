"""In-process validate-code of mixed IPG672 codings against a bare dict membership of the normalised code."""

from __future__ import annotations

from ipg_validator import Coding, load_content
from ipg_validator.terminology.formats import normalise
from ipg_validator.terminology.sources import SourceChain
from ipg_validator.core.systems import ICD10_UK, OPCS4
from ipg_validator.terminology.validate import validate_code

from .timing import Timing, measure

PROCEDURES = "https://ipg-validator.org/fhir/ValueSet/ipg672-procedures"
DIAGNOSES = "https://ipg-validator.org/fhir/ValueSet/ipg672-diagnoses"

# Members, non-members, NHS formats and an alias system URI, as real feeds send them.
MIXED = [
    (PROCEDURES, OPCS4, "J12.3"), (PROCEDURES, OPCS4, "X65.3"), (PROCEDURES, OPCS4, "Y89.1"),
    (PROCEDURES, OPCS4, "J12.4"), (PROCEDURES, OPCS4, "J123"), (PROCEDURES, "https://fhir.nhs.uk/Id/opcs-4", "Y53.4"),
    (DIAGNOSES, ICD10_UK, "C78.7"), (DIAGNOSES, ICD10_UK, "C18.7"), (DIAGNOSES, ICD10_UK, "C19X"),
    (DIAGNOSES, ICD10_UK, "Z85.1"), (DIAGNOSES, "http://hl7.org/fhir/sid/icd-10", "C20"), (DIAGNOSES, ICD10_UK, "c787"),
]


def run() -> list[tuple[str, Timing, Timing]]:
    """(name, engine timing, baseline timing) for validate-code per coding."""
    index = load_content()
    sources = SourceChain([index])
    cases = [(index.value_set(vs), Coding(system, code)) for vs, system, code in MIXED]
    members = {
        (item_system, code)
        for url in (PROCEDURES, DIAGNOSES)
        for item_system, code in _expanded(sources, index.value_set(url))
    }
    plain = [(index.canonical_system(system), code) for _, system, code in MIXED]

    def engine() -> None:
        for vs, coding in cases:
            validate_code(sources, [coding], value_set=vs)

    def baseline() -> None:
        for system, code in plain:
            (system, normalise(system, code).code) in members  # noqa: B015

    return [("validate_code per coding (mixed IPG672)", measure(engine, len(cases)), measure(baseline, len(plain)))]


def _expanded(sources: SourceChain, vs: object) -> list[tuple[str, str]]:
    from ipg_validator.terminology.expand import expand

    return [(i.system, i.code) for i in expand(sources, vs).items]  # type: ignore[arg-type]
