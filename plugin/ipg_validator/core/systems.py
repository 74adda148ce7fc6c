"""Canonical URIs of the code systems this product knows how to read and format."""

OPCS4 = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
ICD10_UK = "http://hl7.org/fhir/sid/icd-10-uk"
