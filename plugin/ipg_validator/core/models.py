"""FHIR R4 structure through the fhir.resources R4B models (R4B reads R4 4.0.1 content).

R4B is R4 plus a few renamed resources, so the R4 resource list is R4B's with those swapped
back: an R4B-only type is not R4, and an R4-only type has no model here to check it with.
"""

from __future__ import annotations

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from pydantic import BaseModel

ABSTRACT = frozenset({"Resource", "DomainResource"})
R4B_ONLY = frozenset({
    "AdministrableProductDefinition", "Citation", "ClinicalUseDefinition", "EvidenceReport", "Ingredient",
    "ManufacturedItemDefinition", "MedicinalProductDefinition", "NutritionProduct", "PackagedProductDefinition",
    "RegulatedAuthorization", "SubscriptionStatus", "SubscriptionTopic", "SubstanceDefinition",
})
R4_ONLY = frozenset({
    "EffectEvidenceSynthesis", "MedicinalProduct", "MedicinalProductAuthorization", "MedicinalProductContraindication",
    "MedicinalProductIndication", "MedicinalProductIngredient", "MedicinalProductInteraction", "MedicinalProductManufactured",
    "MedicinalProductPackaged", "MedicinalProductPharmaceutical", "MedicinalProductUndesirableEffect", "RiskEvidenceSynthesis",
    "SubstanceNucleicAcid", "SubstancePolymer", "SubstanceProtein", "SubstanceReferenceInformation", "SubstanceSourceMaterial",
    "SubstanceSpecification",
})


_MODELS: dict[str, type[BaseModel]] = {}  # only FHIR's own resource types: a bounded set, whatever clients send


def model_class(resource_type: str) -> type[BaseModel] | None:
    """The R4B model of a concrete FHIR R4 resource type; None for data types, abstract and non-R4 types."""
    found = _MODELS.get(resource_type)
    if found is not None:
        return found
    if resource_type in ABSTRACT or resource_type in R4B_ONLY:
        return None
    try:
        cls = get_fhir_model_class(resource_type)
    except (KeyError, ValueError, AttributeError, ImportError, TypeError):
        return None
    if not (isinstance(cls, type) and issubclass(cls, Resource)):
        return None
    _MODELS[resource_type] = cls
    return cls


def unknown_type_text(resource_type: str) -> str:
    """Why a resourceType has no model, in words a sender can act on."""
    if resource_type in R4_ONLY:
        return f"'{resource_type}' is an R4 resource this validator has no model for, so its structure was not checked"
    if resource_type in R4B_ONLY:
        return f"'{resource_type}' is not a FHIR R4 (4.0.1) resource (it was added in R4B): send R4 content"
    if resource_type in ABSTRACT:
        return f"'{resource_type}' is an abstract type: name the concrete resource (e.g. \"Procedure\")"
    try:
        get_fhir_model_class(resource_type)
        return f"'{resource_type}' is a FHIR data type, not a resource"
    except (KeyError, ValueError, AttributeError, ImportError):
        return f"Unknown resourceType '{resource_type}': FHIR R4 has no such resource"


_REQUIRED: dict[str, tuple[str, ...]] = {}  # by resource type, FHIR's own only (as _MODELS)


def required_elements(resource_type: str) -> tuple[str, ...]:
    """Required primitive elements the models check only after every other element passes."""
    found = _REQUIRED.get(resource_type)
    if found is not None:
        return found
    cls = model_class(resource_type)
    if cls is None:
        return ()
    found = _REQUIRED[resource_type] = tuple(name for name, _ in cls.model_construct().get_required_fields())  # type: ignore[attr-defined]
    return found
