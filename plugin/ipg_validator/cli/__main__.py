"""`python -m ipg_validator.cli`: the same command as `ipg-validator`."""

from .app import app

app()
