"""The `ipg-validator` command line (entry point `ipg_validator.cli:app`)."""

from .app import app

__all__ = ["app"]
