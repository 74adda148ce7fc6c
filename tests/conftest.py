"""Shared fixtures: the shipped content, loaded once, a source chain over it, and a running server for real clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ipg_validator.content.index import ContentIndex
from ipg_validator.content.loader import load_content
from ipg_validator.server import create_app
from ipg_validator.terminology.sources import SourceChain
from ipg_validator.core.systems import ICD10_UK, OPCS4
from support.server import serving

ROOT = Path(__file__).resolve().parents[1]
VALUESETS_DIR = ROOT / "valuesets"  # the shared terminology: CodeSystem fragments, NamingSystems, OPCS-4 conventions
PROFILES_DIR = ROOT / "profiles"  # the service's own OperationDefinition
GUIDANCE_DIR = ROOT / "guidance"  # the Bundle-level rules and one folder per guidance pack
PACK_DIR = GUIDANCE_DIR / "ipg672"
EXAMPLES_DIR = PACK_DIR / "examples"
RULES_FILE = PACK_DIR / "ipg672.rules.json"
BUNDLE_RULES_FILE = GUIDANCE_DIR / "bundle.rules.json"

VS_BASE = "https://ipg-validator.org/fhir/ValueSet/"
PROCEDURES = VS_BASE + "ipg672-procedures"
DIAGNOSES = VS_BASE + "ipg672-diagnoses"

__all__ = ["ICD10_UK", "OPCS4", "ROOT", "VALUESETS_DIR", "PROFILES_DIR", "GUIDANCE_DIR", "PACK_DIR", "EXAMPLES_DIR", "RULES_FILE",
           "BUNDLE_RULES_FILE", "VS_BASE", "PROCEDURES", "DIAGNOSES", "content_files"]


def content_files(pattern: str = "*.json") -> list[Path]:
    """The shipped content files matching `pattern`, in every content folder (a pack's examples are not content)."""
    return sorted(p for folder in (VALUESETS_DIR, PROFILES_DIR, GUIDANCE_DIR) for p in folder.rglob(pattern)
                  if "examples" not in p.relative_to(folder).parts)


@pytest.fixture(scope="session")
def index() -> ContentIndex:
    return load_content()


@pytest.fixture(scope="session")
def sources(index: ContentIndex) -> SourceChain:
    return SourceChain([index])


@pytest.fixture(scope="module")
def client(index: ContentIndex) -> Iterator[TestClient]:
    """The app over the shipped content, as an HTTP client (one per test module)."""
    with TestClient(create_app(index), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def fhir_base() -> Iterator[str]:
    """The FHIR base URL of one `ipg-validator serve` process shared by the tests of real clients."""
    with serving() as url:
        yield url
