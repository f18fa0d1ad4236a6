"""``python -m api`` runs the ``reason`` command line."""

from api.cli import main

main()
