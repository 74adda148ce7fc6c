"""A request the FHIR layer refuses, carried to the HTTP layer as a status and an OperationOutcome."""

from __future__ import annotations

from .results import Issue


class FhirError(Exception):
    """Answer with `status` and an OperationOutcome of `issues`."""

    def __init__(self, status: int, issues: list[Issue]) -> None:
        super().__init__("; ".join(i.text for i in issues))
        self.status = status
        self.issues = issues

    @classmethod
    def of(cls, status: int, code: str, text: str, expression: str | None = None, tx_code: str | None = None) -> FhirError:
        """One error issue; `code` is the FHIR IssueType, `tx_code` the tx-issue-type (defaults to it)."""
        issue = Issue("error", code, tx_code or _TX_FOR.get(code, "invalid-data"), text, (expression,) if expression else ())
        return cls(status, [issue])


_TX_FOR = {"not-found": "not-found", "too-costly": "too-costly", "not-supported": "invalid-data", "structure": "invalid-data"}
