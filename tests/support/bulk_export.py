"""FHIR Bulk Data exports for tests and benchmarks: the examples as an export, and synthetic ones of
any size (about 1% SIRT encounters, coded correctly or not, the rest realistic OPCS-4/ICD-10 activity).

Synthetic codes are test data only: nothing here ships in the content.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

OPCS4 = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
ICD10 = "http://hl7.org/fhir/sid/icd-10-uk"
TYPES = ("Patient", "Encounter", "Procedure", "Condition")
# Common admitted-care activity (test data, not shipped content)
OTHER_PROCEDURES = ("H22.9", "W37.1", "T20.2", "J18.3", "H25.9", "G45.1", "K40.1", "M45.9", "C75.1", "Q07.4", "W40.1", "E49.1")
OTHER_DIAGNOSES = ("I10", "K57.3", "E11.9", "J18.9", "K80.2", "I25.1", "N39.0", "M17.1", "H25.9", "K21.9", "C50.9", "J44.1")
PRIMARIES = ("C18.0", "C18.2", "C18.7", "C19", "C20", "Z85.0")


def example_resources(bundles: Iterable[tuple[str, dict[str, Any]]]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Each example Bundle's resources as an export holds them: (example, entry index, resource) with an
    id (made from the example and entry) and relative `Type/id` references in place of fullUrls."""
    for n, (name, bundle) in enumerate(bundles):
        entries = [e for e in bundle.get("entry", []) if isinstance(e.get("resource"), dict)]
        ids = {}
        for i, entry in enumerate(entries):
            resource = entry["resource"]
            rid = resource.get("id") if isinstance(resource.get("id"), str) else f"x{n}-{i}"
            ids[i] = f"x{n}-{rid}"[:64]
            if entry.get("fullUrl"):
                ids[entry["fullUrl"]] = f"{resource['resourceType']}/{ids[i]}"
            if isinstance(resource.get("id"), str):
                ids[f"{resource['resourceType']}/{resource['id']}"] = f"{resource['resourceType']}/{ids[i]}"
        for i, entry in enumerate(entries):
            resource = _rewrite(entry["resource"], ids)
            resource["id"] = ids[i]
            yield name, i, resource


def _rewrite(value: Any, ids: dict[Any, str]) -> Any:
    if isinstance(value, dict):
        return {k: (ids.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, ids)) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, ids) for v in value]
    return value


def write_export(folder: Path, resources: Iterable[dict[str, Any]], *, files_per_type: int = 1, gz: bool = False, manifest: bool = False) -> Path:
    """Write resources as `Type.N.ndjson[.gz]` files (lines dealt round-robin); the manifest path when asked, else the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    handles: dict[tuple[str, int], Any] = {}
    counts: dict[str, int] = {}
    for resource in resources:
        kind = resource["resourceType"]
        part = counts.get(kind, 0) % files_per_type
        counts[kind] = counts.get(kind, 0) + 1
        key = (kind, part)
        if key not in handles:
            name = f"{kind}.{part:03d}.ndjson" + (".gz" if gz else "")
            handles[key] = gzip.open(folder / name, "wb", compresslevel=1) if gz else (folder / name).open("wb")
        handles[key].write(orjson.dumps(resource) + b"\n")
    for handle in handles.values():
        handle.close()
    if not manifest:
        return folder
    output = [{"type": kind, "url": f"{kind}.{part:03d}.ndjson" + (".gz" if gz else "")} for kind, part in sorted(handles)]
    path = folder / "manifest.json"
    path.write_bytes(orjson.dumps({"transactionTime": "2026-12-07T00:00:00Z", "request": "$export", "requiresAccessToken": False, "output": output, "error": []}))
    return path


def synthetic(encounters: int, *, seed: int = 15, sirt_share: float = 0.01) -> Iterator[dict[str, Any]]:
    """Patients, Encounters, Procedures and Conditions of `encounters` admissions (two per patient)."""
    rng = random.Random(seed)
    for e in range(encounters):
        pid = f"p{e // 2}"
        if e % 2 == 0:
            yield {"resourceType": "Patient", "id": pid, "gender": rng.choice(("male", "female")), "birthDate": f"19{rng.randint(30, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"}
        eid = f"e{e}"
        day = f"2025-{rng.randint(1, 12):02d}-{rng.randint(10, 28)}"
        yield {"resourceType": "Encounter", "id": eid, "status": "finished",
               "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
               "subject": {"reference": f"Patient/{pid}"}, "period": {"start": f"{day}T09:00:00Z", "end": f"{day}T17:00:00Z"}}
        procedures, diagnoses = _sirt(rng) if rng.random() < sirt_share else _other(rng)
        for n, code in enumerate(procedures):
            yield {"resourceType": "Procedure", "id": f"{eid}-p{n}", "status": "completed", "code": {"coding": [{"system": OPCS4, "code": code}]},
                   "subject": {"reference": f"Patient/{pid}"}, "encounter": {"reference": f"Encounter/{eid}"}, "performedDateTime": f"{day}T10:{n:02d}:00Z"}
        for n, code in enumerate(diagnoses):
            yield {"resourceType": "Condition", "id": f"{eid}-c{n}", "code": {"coding": [{"system": ICD10, "code": code}]},
                   "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                   "subject": {"reference": f"Patient/{pid}"}, "encounter": {"reference": f"Encounter/{eid}"}, "recordedDate": day}


def _other(rng: random.Random) -> tuple[list[str], list[str]]:
    return rng.sample(OTHER_PROCEDURES, rng.randint(1, 3)), rng.sample(OTHER_DIAGNOSES, rng.randint(1, 3))


def _sirt(rng: random.Random) -> tuple[list[str], list[str]]:
    """A SIRT encounter, coded as IPG672 recommends or with one of the usual mistakes."""
    procedures = ["J12.3", "X65.3", "Y36.4", "Y53.4"] + (["Y89.1"] if rng.random() < 0.3 else [])
    diagnoses = ["C78.7", rng.choice(PRIMARIES)]
    mistake = rng.choice(("none", "none", "no-x65", "y-first", "no-primary", "nhs-format", "no-secondary"))
    if mistake == "no-x65":
        procedures.remove("X65.3")
    elif mistake == "y-first":
        procedures = procedures[2:] + procedures[:2]
    elif mistake == "no-primary":
        diagnoses = diagnoses[:1]
    elif mistake == "nhs-format":
        procedures[0] = "J123"
    elif mistake == "no-secondary":
        diagnoses = diagnoses[1:]
    return procedures, diagnoses
