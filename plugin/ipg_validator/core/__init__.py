"""What every layer shares: the result types (Issue, Coding, severities), the system URIs, and the FHIR
primitives (JSON reading, the R4B models, FhirError, limits, the OperationOutcome writer). Imports nothing
of the rest of the package."""
