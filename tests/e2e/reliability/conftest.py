"""Scale of the reliability suite: small enough for `nox -s tests`, larger in
`nox -s reliability` (which sets NEXUS_RELIABILITY_FILES=10000)."""

from __future__ import annotations

import os

BULK_FILES = int(os.environ.get("NEXUS_RELIABILITY_FILES", "2000"))
CANCEL_SEEDS = range(int(os.environ.get("NEXUS_RELIABILITY_SEEDS", "20")))
