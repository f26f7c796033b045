"""Fake cuVS (the kNN builders cuML 26.x depends on)."""

__version__ = "26.10.0"
