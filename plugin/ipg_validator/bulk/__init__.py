"""FHIR Bulk Data exports (NDJSON per resource type) validated encounter by encounter, through the
same code path as `Bundle/$validate`, with bounded memory (DuckDB) or on Apache Spark."""
