"""Benchmarks of seglab against the naive baseline: ``python -m bench`` (``make bench``)."""
