"""The HTTP service: `create_app` for a standalone server, `fhir_router` to mount in another FastAPI app."""

from .app import create_app, fhir_router

__all__ = ["create_app", "fhir_router"]
