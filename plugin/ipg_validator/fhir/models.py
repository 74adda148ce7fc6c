"""FHIR R4 structure through the fhir.resources R4B models (R4B reads R4 4.0.1 content)."""

from __future__ import annotations

from functools import lru_cache

from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel


@lru_cache(maxsize=None)
def model_class(resource_type: str) -> type[BaseModel] | None:
    """The fhir.resources R4B model for a resourceType, or None when FHIR has no such type."""
    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError, AttributeError, ImportError):
        return None
