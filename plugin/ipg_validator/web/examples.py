"""The shipped example Bundles (`examples/` in a checkout, `_content/examples` in a wheel), for the page's picker."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..content.paths import shipped_folder

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
EXPECTED = ".expected.json"


def examples_folder() -> Path | None:
    """Where the example Bundles are, or None when this installation has none."""
    try:
        return shipped_folder("examples")
    except FileNotFoundError:
        return None


def example_list(folder: Path | None = None) -> list[dict[str, Any]]:
    """Each example: its name, what it shows and whether it conforms (from `<name>.expected.json`), by name."""
    folder = folder if folder is not None else examples_folder()
    if folder is None:
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        name = path.name[: -len(".json")]
        if path.name.endswith(EXPECTED) or not NAME.match(name):
            continue
        expected = _expected(folder / f"{name}{EXPECTED}")
        out.append({
            "name": name,
            "description": str(expected.get("description") or ""),
            "conforms": expected.get("conforms") if isinstance(expected.get("conforms"), bool) else None,
        })
    return out


def example_path(name: str, folder: Path | None = None) -> Path | None:
    """The file of the example called `name`, or None: only listed names resolve, never a path."""
    folder = folder if folder is not None else examples_folder()
    if folder is None or not NAME.match(name) or name.endswith(".expected"):
        return None
    path = folder / f"{name}.json"
    return path if path.is_file() else None


def _expected(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
