"""Each guidance pack's example Bundles (`guidance/<id>/examples/`), for the page's picker and the warm-up."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..content.index import ContentIndex

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
EXPECTED = ".expected.json"


def example_list(folders: Iterable[tuple[str, Path]]) -> list[dict[str, Any]]:
    """Each example: its name, its pack, what it shows and whether it conforms (from `<name>.expected.json`);
    by pack, then name. A name another pack listed first is left out: names are unique across packs."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for pack, folder in folders:
        for path in sorted(folder.glob("*.json")):
            name = path.name[: -len(".json")]
            if path.name.endswith(EXPECTED) or not NAME.match(name) or name in seen:
                continue
            seen.add(name)
            expected = _expected(folder / f"{name}{EXPECTED}")
            out.append({
                "name": name,
                "pack": pack,
                "description": str(expected.get("description") or ""),
                "conforms": expected.get("conforms") if isinstance(expected.get("conforms"), bool) else None,
            })
    return out


def example_path(name: str, folders: Iterable[tuple[str, Path]]) -> Path | None:
    """The file of the example called `name` (the first pack's that has it), or None: only listed names resolve, never a path."""
    if not NAME.match(name) or name.endswith(".expected"):
        return None
    for _, folder in folders:
        path = folder / f"{name}.json"
        if path.is_file():
            return path
    return None


def example_bundles(index: ContentIndex) -> list[Path]:
    """Every example Bundle of the loaded packs (their expected outcomes left out)."""
    return [p for _, folder in index.example_folders() for p in sorted(folder.glob("*.json")) if not p.name.endswith(EXPECTED)]


def _expected(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
