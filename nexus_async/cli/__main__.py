"""``python -m nexus_async.cli``."""

from nexus_async.cli import main

main()
