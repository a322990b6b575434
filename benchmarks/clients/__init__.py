"""Benchmark clients: each runs in its own process and prints one JSON result line.

They import nothing from ``benchmarks`` (the official client runs in datature's own venv):
shared code lives in ``_common.py`` next to them and is imported as a sibling module.
"""
