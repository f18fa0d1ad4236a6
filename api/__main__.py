"""``python -m api`` runs the ``reason`` command line."""

from api.cli.main import main

main()
