"""Where the shipped content lives, from a checkout or from an installed wheel."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..core.frozen import frozen


EXAMPLES = "examples"  # a guidance pack's example Bundles (guidance/<id>/examples/): shipped with it, never loaded as content


def shipped_folder(name: str) -> Path:
    """The shipped `valuesets`, `profiles`, `guidance` or `fhir-core` folder.

    A wheel carries them inside the package (`ipg_validator/_content/`); a checkout has
    them at the repository root, two levels above the package.
    """
    packaged = Path(str(resources.files("ipg_validator"))) / "_content" / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"shipped content folder {name!r} not found (looked in {packaged} and {checkout})")


def shipped_content() -> list[Path]:
    """The content folders loaded when the user names none."""
    folders = [shipped_folder("valuesets")]
    for name in ("profiles", "guidance"):
        try:
            folders.append(shipped_folder(name))
        except FileNotFoundError:
            pass
    return folders


@lru_cache(maxsize=1)
def fhir_core_resources() -> tuple[dict[str, Any], ...]:
    """The FHIR R4 core CodeSystems and ValueSets of `fhir-core/` (administrative-gender, ...).

    The terminology service knows them as every FHIR terminology server does; they are not part
    of the IPG672 content (not listed by `content`, not in the IPG672 package).
    """
    try:
        folder = shipped_folder("fhir-core")
    except FileNotFoundError:
        return ()
    return tuple(frozen(json.loads(p.read_text(encoding="utf-8"))) for p in sorted(folder.glob("*.json")))
