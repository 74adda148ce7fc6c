"""How release versions order: shared by the content loader (newest first) and the terminology engine."""

from __future__ import annotations

import re

SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")


def version_key(version: str | None) -> tuple[tuple[int, int, str], ...]:
    """A sort key that orders releases oldest to newest: numeric segments as numbers (OPCS-4 4.10 before
    4.11), text segments after them, and a semver pre-release (`1.2.0-beta`) before its release."""
    text = version or ""
    found = SEMVER.fullmatch(text)
    parts = ".".join(found.groups()[:3]) if found else text.replace("-", ".")
    key = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts.split("."))
    if found:
        pre = found.group(4)
        key += ((1, 0, pre),) if pre else ((2, 0, ""),)
    return key
