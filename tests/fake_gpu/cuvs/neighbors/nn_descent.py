"""Fake ``cuvs.neighbors.nn_descent.IndexParams``."""

from typing import Any


class IndexParams:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
