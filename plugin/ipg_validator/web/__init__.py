"""The web page for people testing Bundles: static files, and the data the page needs beyond the FHIR API.

`checklist` computes each encounter's IPG672 checklist from the rules engine's own view of the
Bundle; `examples` finds the shipped example Bundles. The HTTP routes are in `server/web.py`.
"""

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
