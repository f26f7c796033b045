"""Fake ``cuvs.neighbors``."""
