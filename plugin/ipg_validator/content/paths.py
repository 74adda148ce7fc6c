"""Where the shipped content lives, from a checkout or from an installed wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped_folder(name: str) -> Path:
    """The shipped `valuesets` or `profiles` folder.

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
    try:
        folders.append(shipped_folder("profiles"))
    except FileNotFoundError:
        pass
    return folders
