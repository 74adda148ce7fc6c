"""Realistic SIRT encounter Bundles of any size for the benchmarks: 10 entries per patient and encounter."""

from __future__ import annotations

from typing import Any

import orjson

OPCS4 = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
ICD10 = "http://hl7.org/fhir/sid/icd-10-uk"
PROCEDURES = ("J12.3", "X65.3", "Y36.4", "Y89.1", "Y53.4", "Y79.3")
DIAGNOSES = ("C78.7", "C18.7")


def sirt_bundle(encounters: int = 1) -> bytes:
    """A collection Bundle: per encounter a Patient, the Encounter, six Procedures and two Conditions."""
    entries: list[dict[str, Any]] = []
    for n in range(encounters):
        patient, encounter = f"urn:uuid:00000000-0000-4000-8000-{n:06d}000001", f"urn:uuid:00000000-0000-4000-8000-{n:06d}000002"
        entries.append({"fullUrl": patient, "resource": {"resourceType": "Patient", "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}]}})
        entries.append({"fullUrl": encounter, "resource": {
            "resourceType": "Encounter", "status": "finished", "subject": {"reference": patient},
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "period": {"start": "2026-03-02T09:00:00Z", "end": "2026-03-03T12:00:00Z"}}})
        for m, code in enumerate(PROCEDURES):
            entries.append({"fullUrl": f"urn:uuid:00000000-0000-4000-8001-{n:06d}{m:06d}", "resource": {
                "resourceType": "Procedure", "status": "completed", "subject": {"reference": patient}, "encounter": {"reference": encounter},
                "performedDateTime": "2026-03-02T10:30:00Z", "code": {"coding": [{"system": OPCS4, "code": code}]}}})
        for m, code in enumerate(DIAGNOSES):
            entries.append({"fullUrl": f"urn:uuid:00000000-0000-4000-8002-{n:06d}{m:06d}", "resource": {
                "resourceType": "Condition", "subject": {"reference": patient}, "encounter": {"reference": encounter},
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                "code": {"coding": [{"system": ICD10, "code": code}]}}})
    return orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
