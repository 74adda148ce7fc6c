"""What a test needs from the machine (a browser, Java, the conformance data): skipped with the reason on a
user's machine, failed under CI=true, where everything must be there."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str, ci_hint: str) -> NoReturn:
    """Skip with `reason`; under CI=true fail instead, saying what CI does to provide it (`ci_hint`)."""
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason}; {ci_hint}")
    pytest.skip(reason)
