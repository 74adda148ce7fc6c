"""Structural validation of incoming resources with the fhir.resources R4B models."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..core.errors import FhirError
from ..core.models import model_class

MAX_STRUCTURE_ISSUES = 10


def check_structure(resource: Any) -> None:
    """Refuse (400) a resource that its FHIR R4B model rejects, so no operation sees ill-typed values."""
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    cls = model_class(kind) if isinstance(kind, str) else None
    if cls is None:
        return  # not a resource: the operation's own check says what was expected
    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        issues = [_structure_issue(str(kind), err) for err in exc.errors()[:MAX_STRUCTURE_ISSUES]]
        raise FhirError(400, [i for e in issues for i in e.issues]) from None


def _structure_issue(kind: str, err: Any) -> FhirError:
    path = kind + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in err.get("loc", ()))
    return FhirError.of(400, "structure", f"{path}: {err.get('msg', 'invalid')}", path)
