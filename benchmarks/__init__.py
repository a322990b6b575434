"""Benchmarks: nexus_async vs the official datature SDK vs a minimal floor client (issue 7)."""
