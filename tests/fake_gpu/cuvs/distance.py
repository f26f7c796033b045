"""Fake ``cuvs.distance``: the metric names cuVS accepts.

Mirrors rapidsai/cuvs at ff0c8076, ``python/cuvs/cuvs/distance/distance.pyx`` ``DISTANCE_TYPES``
(names mapped to cuvsDistanceType) and ``DISTANCE_NAMES`` (its inverse; the last name wins).
"""

DISTANCE_TYPES = {
    "l2": "L2SqrtExpanded", "sqeuclidean": "L2Expanded", "euclidean": "L2SqrtExpanded",
    "l1": "L1", "cityblock": "L1", "inner_product": "InnerProduct", "chebyshev": "Linf",
    "canberra": "Canberra", "cosine": "CosineExpanded", "lp": "LpUnexpanded",
    "correlation": "CorrelationExpanded", "jaccard": "JaccardExpanded",
    "hellinger": "HellingerExpanded", "braycurtis": "BrayCurtis",
    "jensenshannon": "JensenShannon", "hamming": "HammingUnexpanded",
    "kl_divergence": "KLDivergence", "minkowski": "LpUnexpanded",
    "russellrao": "RusselRaoExpanded", "dice": "DiceExpanded",
    "bitwise_hamming": "BitwiseHamming",
}
DISTANCE_NAMES = {v: k for k, v in DISTANCE_TYPES.items()}
