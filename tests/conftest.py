"""Shared fixtures: the shipped content, loaded once, and a source chain over it."""

from __future__ import annotations

from pathlib import Path

import pytest
from ipg_validator.content.index import ContentIndex
from ipg_validator.content.loader import load_content
from ipg_validator.terminology.sources import SourceChain
from ipg_validator.terminology.systems import ICD10_UK, OPCS4

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
