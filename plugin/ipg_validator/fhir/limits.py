"""Request limits with safe defaults; each one exceeded is answered with an OperationOutcome."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """How much one request may ask of the server."""

    max_body_bytes: int = 10 * 1024 * 1024
    max_tx_resources: int = 50
    max_tx_resource_bytes: int = 5 * 1024 * 1024
    max_expansion: int = 10_000
    default_expansion_count: int = 1_000
