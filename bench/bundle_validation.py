"""Bundle validation in process (bytes in, OperationOutcome out) against parsing the same bytes."""

from __future__ import annotations

import orjson
from fhir.resources.R4B.bundle import Bundle
from ipg_validator import validate_bundle
from ipg_validator.bundle.validate import default_index

from .bundles import sirt_bundle
from .timing import Timing, measure


def run() -> list[tuple[str, Timing, Timing, str, int, str]]:
    """(name, validation timing, baseline timing, baseline name, entries, mode) per Bundle size and mode."""
    index = default_index()
    rows = []
    for encounters, rounds in ((1, 15), (100, 7)):
        data = sirt_bundle(encounters)
        entries = encounters * 10
        validate_bundle(data, index)  # warm: models imported, value sets expanded
        full = measure(lambda: validate_bundle(data, index), 1, rounds=rounds)
        codings = measure(lambda: validate_bundle(data, index, structure=False), 1, rounds=rounds)
        parse = measure(lambda: Bundle.model_validate_json(data), 1, rounds=rounds)
        loads = measure(lambda: orjson.loads(data), 1, rounds=rounds)
        rows.append((f"$validate {entries:,}-entry Bundle", full, parse, "fhir.resources R4B parse", entries, "full"))
        rows.append((f"$validate {entries:,}-entry Bundle", full, loads, "orjson.loads", entries, "full"))
        rows.append((f"coding-only {entries:,}-entry Bundle (structure=False)", codings, loads, "orjson.loads", entries, "coding-only"))
    return rows
