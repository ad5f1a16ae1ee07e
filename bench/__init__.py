"""Benchmarks: synthetic repositories (generate.py), engines compared (engines.py), the runner (run.py)."""
