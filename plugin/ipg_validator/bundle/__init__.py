"""Validation of encounter Bundles (and single Procedures and Conditions) against a guidance."""
