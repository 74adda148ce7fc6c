"""What the commands share: the --content and --json options, loading the content, reading systems and value sets."""


from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from . import output as show
from ..content.index import ContentIndex
from ..content.loader import ContentError, load_content
from ..core.errors import FhirError
from ..core.outcome import operation_outcome
from ..terminology.compose import value_set_systems
from ..terminology.engine import engine_for
from ..terminology.sources import split_canonical
from ..core.systems import ICD10_UK, OPCS4
from ..settings import CONTENT_ENV, content_from_env

SYSTEM_SHORTHANDS = {"opcs4": OPCS4, "opcs-4": OPCS4, "icd10": ICD10_UK, "icd-10": ICD10_UK}

ContentOpt = Annotated[
    Optional[list[Path]],
    typer.Option(
        "--content", metavar="DIR",
        help=f"Extra content folder (repeatable); default: the {CONTENT_ENV} variable (a {os.pathsep}-separated list).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the FHIR resource as JSON, exactly as the server answers.")]


def fail(message: str, code: int = 2) -> NoReturn:
    show.error(message)
    raise typer.Exit(code)


def content_folders(content: Optional[list[Path]]) -> list[Path]:
    """The `--content` folders, else those named in IPG_CONTENT."""
    if content:
        return list(content)
    return list(content_from_env(os.environ))


def load_index(content: Optional[list[Path]]) -> ContentIndex:
    """Load the shipped content plus the user's folders; a broken file ends the command (exit 2)."""
    try:
        return load_content(content_folders(content))
    except ContentError as exc:
        fail(f"cannot load content: {exc.path}: {exc.problem}")


def resolve_system(system: str) -> str:
    """A code system URL, from a URL or a shorthand (opcs4, opcs-4, icd10, icd-10)."""
    return SYSTEM_SHORTHANDS.get(system.strip().lower(), system)


def resolve_value_set(index: ContentIndex, value_set: str) -> str:
    """A value set canonical, from a canonical or a short id such as `ipg672-procedures`."""
    url, version = split_canonical(value_set)
    if url in index.value_sets or "://" in url or ":" in url:
        return value_set
    suffix = f"|{version}" if version else ""
    by_id = [vs["url"] for vs in index.resources.get("ValueSet", ()) if vs.get("id") == url]
    return (by_id[0] + suffix) if len(set(by_id)) == 1 else value_set


def infer_system(index: ContentIndex, value_set: str) -> str:
    """The one code system of the value set, or exit 2 saying why there is none."""
    vs = index.value_set(*split_canonical(value_set))
    if vs is None:
        fail(f"the value set {value_set!r} is not loaded; known value sets: {', '.join(sorted(index.value_sets))}")
    systems = value_set_systems(engine_for(index).content_sources, vs)
    if not systems:
        fail(f"cannot tell the code system from the value set {value_set!r}: pass --system")
    if len(systems) > 1:
        fail(f"the value set {value_set!r} draws on more than one code system ({', '.join(sorted(systems))}): pass --system")
    return systems[0]


def fhir_failure(exc: FhirError, json_out: bool, code: int = 2) -> NoReturn:
    """A refused request: the OperationOutcome as JSON, or each issue on stderr; then exit."""
    if json_out:
        show.write_json(operation_outcome(exc.issues))
    else:
        show.print_plain_issues(exc.issues, stderr=True)
    raise typer.Exit(code)


