"""Mount the ipg-validator FHIR API inside your own FastAPI application.

Run it (from a checkout, with the package installed)::

    uvicorn --app-dir docs mount_example:app --port 8000

then validate an encounter Bundle::

    curl -X POST -H 'Content-Type: application/fhir+json' \
         --data-binary @guidance/ipg672/examples/missing-x65-3.json \
         'http://127.0.0.1:8000/ipg/fhir/Bundle/$validate'
"""

from __future__ import annotations

from fastapi import FastAPI

from ipg_validator import load_content
from ipg_validator.server import fhir_router

app = FastAPI(title="Coding quality service")


@app.get("/health")
def health() -> dict[str, str]:
    """One of the host application's own routes."""
    return {"status": "ok"}


# The shipped IPG672 content (pass folders, e.g. load_content(["/data/trud"]), to add full
# OPCS-4 / ICD-10 releases). Loading checks every file, so a broken one stops start-up here.
app.include_router(fhir_router(load_content()), prefix="/ipg/fhir")


if __name__ == "__main__":  # python docs/mount_example.py
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
