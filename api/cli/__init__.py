"""The ``reason`` command line: one module per command group (see main.py)."""

from api.cli.main import app, main

__all__ = ["app", "main"]
