"""bench/generators.py (the second table generator) and the expert yardsticks of bench/yardsticks.py.

The generators: deterministic per seed, the stated shape, sparsity, missing share and class count.
The yardsticks: one label per row and an ARI well above chance on a small generated table (floors
well under the lowest of seeds 0, 1, 2 measured on this project's 2-core machine, in comments).
UMAP + PLSCAN's real run compiles numba code for minutes on a cold cache: the fast test stubs UMAP,
the real one is marked slow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from bench import yardsticks
from bench.generators import (
    BASKET_EXTRA_CATEGORICAL,
    BASKET_EXTRA_NUMERIC,
    CRM_CATEGORICAL,
    CRM_NUMERIC,
    make_baskets,
    make_mixed_crm,
    product_names,
)
from bench.yardsticks import (
    Structure,
    basket_shares,
    expert_matrix,
    kmeans_labels,
    kprototypes_labels,
    run_yardsticks,
    stepmix_labels,
    umap_plscan_labels,
)
from sklearn.metrics import adjusted_rand_score

MIXED = Structure(categorical_columns=tuple(CRM_CATEGORICAL), numeric_columns=CRM_NUMERIC)


def _baskets(seed: int = 0) -> pd.DataFrame:
    return make_baskets(1_000, products=40, segments=4, sparsity=0.85, seed=seed)


def _mixed(seed: int = 0, rows: int = 1_000) -> pd.DataFrame:
    return make_mixed_crm(rows, classes=4, seed=seed)


@pytest.mark.parametrize(("rows", "products", "segments", "sparsity"),
                         [(3_000, 80, 6, 0.89), (2_000, 120, 9, 0.91)])
def test_baskets_have_the_stated_shape_sparsity_and_segments(rows: int, products: int, segments: int,
                                                            sparsity: float) -> None:
    frame = make_baskets(rows, products, segments, sparsity, seed=3)
    assert list(frame.columns) == ["customer_id", *product_names(products), "segment"]
    assert len(frame) == rows and frame["customer_id"].is_unique
    counts = frame[product_names(products)].to_numpy()
    assert counts.dtype == np.int64 and counts.min() == 0
    assert abs((counts == 0).mean() - sparsity) < 0.01
    assert counts.sum(axis=1).min() >= 1  # every customer bought something
    totals = counts.sum(axis=1)
    assert np.percentile(totals, 95) >= 4 * np.median(totals)  # a wide spread of basket sizes
    sizes = frame["segment"].value_counts()
    assert len(sizes) == segments and sizes.min() >= 0.5 * rows / segments - 1
    assert sizes.max() > 1.2 * sizes.min()  # unequal segments


def test_baskets_are_deterministic_per_seed() -> None:
    pd.testing.assert_frame_equal(_baskets(4), _baskets(4))
    assert not _baskets(4).equals(_baskets(5))


def test_baskets_with_item_names_and_customer_columns() -> None:
    frame = make_baskets(1_000, products=60, segments=5, sparsity=0.9, seed=1, names="items", extras=True)
    items = product_names(60, "items")
    assert len(set(items)) == 60 and all("_" in name and not name.startswith("prod") for name in items)
    assert list(frame.columns) == ["customer_id", *items, *BASKET_EXTRA_NUMERIC,
                                   *BASKET_EXTRA_CATEGORICAL, "segment"]
    assert frame["tenure_days"].between(30, 3_000).all() and frame["recency_days"].min() >= 1
    assert set(frame["store_format"]) == {"hyper", "super", "convenience", "online"}
    with pytest.raises(ValueError, match="item names"):
        product_names(400, "items")


def test_mixed_crm_has_the_stated_columns_missing_share_and_classes() -> None:
    frame = make_mixed_crm(4_000, classes=8, seed=2)
    features = [*CRM_CATEGORICAL, *CRM_NUMERIC]
    assert list(frame.columns) == ["customer_id", *features, "segment"]
    assert frame["customer_id"].is_unique and frame["customer_id"].notna().all()
    assert frame["segment"].nunique() == 8 and frame["segment"].notna().all()
    assert abs(frame[features].isna().to_numpy().mean() - 0.05) < 0.01
    for column, levels in CRM_CATEGORICAL.items():
        assert set(frame[column].dropna()) <= set(levels)
    for column in CRM_NUMERIC:
        assert pd.api.types.is_float_dtype(frame[column])
    assert (frame[["tenure_months", "support_calls"]].dropna() >= 0).all().all()
    # the classes differ in level probabilities and in numeric means
    plan = pd.crosstab(frame["segment"], frame["plan"], normalize="index")
    assert (plan.max() - plan.min()).max() > 0.2
    assert frame.groupby("segment")["age"].mean().std() > 5


def test_mixed_crm_is_deterministic_per_seed() -> None:
    pd.testing.assert_frame_equal(_mixed(7, 500), _mixed(7, 500))
    assert not _mixed(7, 500).equals(_mixed(8, 500))


def test_structure_resolves_globs_and_rejects_unknown_ones() -> None:
    frame = _baskets().drop(columns=["customer_id", "segment"])
    columns = Structure(count_columns=("prod_*",)).columns(frame)
    assert columns == {"counts": list(frame.columns), "categorical": [], "numeric": []}
    with pytest.raises(ValueError, match="cat_"):
        Structure(count_columns=("cat_*",)).columns(frame)


def test_expert_matrix_is_hellinger_rows_numerics_and_one_hots() -> None:
    frame = pd.DataFrame({"a": [2, 0, 0], "b": [2, 4, 0], "x": [1.0, None, 3.0], "c": ["u", None, "v"]})
    X = expert_matrix(frame, Structure(count_columns=("a", "b"), numeric_columns=("x",),
                                       categorical_columns=("c",)))
    np.testing.assert_allclose(X[:, :2], [[np.sqrt(0.5)] * 2, [0, 1], [np.sqrt(0.5)] * 2])  # empty: uniform
    np.testing.assert_allclose(X[:, 2], [-1.0, 0.0, 1.0] / np.std([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(X[:, 3:], [[1, 0], [0, 0], [0, 1]])
    assert np.allclose(basket_shares(frame, ["a", "b"]).sum(axis=1), 1.0)


def test_kmeans_on_hellinger_rows_finds_the_basket_segments() -> None:
    frame = _baskets()
    labels = kmeans_labels(expert_matrix(frame, Structure(count_columns=("prod_*",))), 4)
    assert len(labels) == len(frame)
    assert adjusted_rand_score(frame["segment"], labels) >= 0.3  # seeds 0/1/2: 0.56, 0.45, 0.56


def test_kmeans_on_the_mixed_representation() -> None:
    frame = _mixed()
    labels = kmeans_labels(expert_matrix(frame, MIXED), 4)
    assert len(labels) == len(frame)
    assert adjusted_rand_score(frame["segment"], labels) >= 0.15  # 0.49, 0.27, 0.42


def test_stepmix_picks_k_by_bic_and_labels_every_row() -> None:
    frame = _mixed()
    labels, info = stepmix_labels(frame, list(CRM_CATEGORICAL), list(CRM_NUMERIC), k_range=(3, 4, 5))
    assert len(labels) == len(frame) and info["k"] in (3, 4, 5) and set(info["bic"]) == {3, 4, 5}
    assert info["k"] == min(info["bic"], key=info["bic"].get)
    assert adjusted_rand_score(frame["segment"], labels) >= 0.25  # 0.67, 0.50, 0.39


def test_kprototypes_with_the_true_k_labels_every_row() -> None:
    frame = _mixed(rows=600)
    labels, info = kprototypes_labels(frame, list(CRM_CATEGORICAL), list(CRM_NUMERIC), 4)
    assert len(labels) == len(frame) and info == {"k": 4, "fit_rows": 600}
    assert adjusted_rand_score(frame["segment"], labels) >= 0.15  # 0.28, 0.52, 0.68


class _PCAUmap:
    """Stands in for umap.UMAP: records the metric, embeds by PCA."""

    seen: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        _PCAUmap.seen = params

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        from sklearn.decomposition import PCA

        _PCAUmap.seen["row_sums"] = X.sum(axis=1)
        return PCA(n_components=5, random_state=0).fit_transform(np.sqrt(X))


def test_umap_plscan_embeds_shares_with_hellinger(monkeypatch: pytest.MonkeyPatch) -> None:
    import umap

    monkeypatch.setattr(umap, "UMAP", _PCAUmap)
    frame = _baskets()
    labels, info = umap_plscan_labels(frame, product_names(40))
    assert _PCAUmap.seen["metric"] == "hellinger" and _PCAUmap.seen["n_components"] == 5
    assert np.allclose(_PCAUmap.seen["row_sums"], 1.0)
    assert len(labels) == len(frame) and labels.max() >= 1 and info["seconds_umap"] >= 0


@pytest.mark.slow
def test_umap_plscan_finds_basket_segments() -> None:
    frame = make_baskets(1_500, products=40, segments=4, sparsity=0.85, seed=0)
    labels, _ = umap_plscan_labels(frame, product_names(40))
    assert adjusted_rand_score(frame["segment"], labels) >= 0.1  # 1,500 rows: 0.44, 0.22, 0.40


def test_run_yardsticks_skips_expert_yardsticks_that_do_not_apply(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.csv"
    _mixed(rows=300).to_csv(path, index=False)
    monkeypatch.setattr(yardsticks, "STEPMIX_K", (2, 3))
    result = run_yardsticks(path, "customer_id", "segment", only=yardsticks.EXPERT_YARDSTICKS,
                            structure=MIXED)["yardsticks"]
    assert result["umap_plscan"] == {"skipped": "no count columns"}
    assert result["kmeans_expert"]["k"] == 4 and result["kprototypes"]["k"] == 4
    assert "ari" in result["stepmix"] and result["stepmix"]["seconds"] > 0
    bare = run_yardsticks(path, "customer_id", None, only=yardsticks.EXPERT_YARDSTICKS)["yardsticks"]
    assert bare["kmeans_expert"] == {"skipped": "no ground truth: the true k is unknown"}
    assert bare["stepmix"] == {"skipped": "no categorical columns"}


def test_a_failing_expert_yardstick_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.csv"
    _mixed(rows=200).to_csv(path, index=False)

    def boom(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("no convergence")

    monkeypatch.setattr(yardsticks, "stepmix_labels", boom)
    result = run_yardsticks(path, "customer_id", "segment", only=("stepmix",), structure=MIXED)
    assert result["yardsticks"]["stepmix"] == {"error": "RuntimeError: no convergence"}
