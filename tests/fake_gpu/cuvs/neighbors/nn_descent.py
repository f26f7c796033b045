"""Fake ``cuvs.neighbors.nn_descent.IndexParams``.

Mirrors rapidsai/cuvs at ff0c8076, ``python/cuvs/cuvs/neighbors/nn_descent/nn_descent.pyx``:
keyword-only parameters, an unknown metric is a KeyError (``DISTANCE_TYPES[metric]``), an
unknown ``dist_comp_dtype`` a ValueError; unset values keep the C defaults
(``cuvsNNDescentIndexParamsCreate``: sqeuclidean, degree 64, intermediate 128).
"""

from typing import Any

from cuvs.distance import DISTANCE_NAMES, DISTANCE_TYPES

DIST_COMP_DTYPES = ("auto", "fp32", "fp16")


class IndexParams:
    def __init__(self, *, metric: str | None = None, metric_arg: Any = None,
                 graph_degree: int | None = None, intermediate_graph_degree: int | None = None,
                 max_iterations: int | None = None, termination_threshold: float | None = None,
                 return_distances: bool | None = None, dist_comp_dtype: str = "auto") -> None:
        self._metric = DISTANCE_TYPES[metric] if metric is not None else "L2Expanded"
        if dist_comp_dtype not in DIST_COMP_DTYPES:
            raise ValueError(f"Invalid dist_comp_dtype: {dist_comp_dtype}. Supported options are "
                             "'auto', 'fp32', and 'fp16'.")
        self.graph_degree = 64 if graph_degree is None else graph_degree
        self.intermediate_graph_degree = (128 if intermediate_graph_degree is None
                                          else intermediate_graph_degree)
        self.max_iterations = 20 if max_iterations is None else max_iterations
        self.termination_threshold = (0.0001 if termination_threshold is None
                                      else termination_threshold)
        self.dist_comp_dtype = dist_comp_dtype

    @property
    def metric(self) -> str:
        return DISTANCE_NAMES[self._metric]

    @property
    def kwargs(self) -> dict[str, Any]:
        """What was set, for the call log (fake only)."""
        return {"metric": self.metric, "graph_degree": self.graph_degree,
                "intermediate_graph_degree": self.intermediate_graph_degree,
                "dist_comp_dtype": self.dist_comp_dtype}
