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
VALUESETS_DIR = ROOT / "valuesets"
PROFILES_DIR = ROOT / "profiles"

VS_BASE = "https://ipg-validator.org/fhir/ValueSet/"
PROCEDURES = VS_BASE + "ipg672-procedures"
DIAGNOSES = VS_BASE + "ipg672-diagnoses"

__all__ = ["ICD10_UK", "OPCS4", "ROOT", "VALUESETS_DIR", "PROFILES_DIR", "VS_BASE", "PROCEDURES", "DIAGNOSES"]


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
