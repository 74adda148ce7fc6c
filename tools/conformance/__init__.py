"""The HL7 terminology ecosystem conformance runner: requests built and responses compared as the HL7 runner does."""
