"""ipg-validator: FHIR terminology validation of NICE IPG672 coding over OPCS-4 and ICD-10 UK.

    >>> from ipg_validator import load_content, Terminology
    >>> tx = Terminology(load_content())
    >>> tx.validate_code("https://ipg-validator.org/fhir/ValueSet/ipg672-procedures",
    ...                  "http://fhir.hl7.org.uk/CodeSystem/OPCS-4", "J12.3").result
    True
"""

from .bundle.validate import validate_bundle
from .content.loader import ContentError, load_content
from .terminology.api import Terminology
from .core.results import Coding, Expansion, Issue, LookupResult, ValidationResult

__all__ = [
    "Coding",
    "ContentError",
    "Expansion",
    "Issue",
    "LookupResult",
    "Terminology",
    "ValidationResult",
    "load_content",
    "validate_bundle",
]
