"""Feature selection and scaling: every rule on a small table built so the answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seglab import features
from seglab.config import FeaturesConfig
from seglab.errors import DataError
from seglab.features import build_features, components_needed, pca_variance


def _table(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    spend = np.exp(3 + latent + rng.normal(0, 0.3, n))
    counts = rng.poisson(np.outer(np.exp(latent / 2), [3.0, 1.0, 0.2, 0.05]))
    return pd.DataFrame({
        "spend_total": spend,
        "spend_copy": spend * 1.01,
        "n_orders": 1 + rng.poisson(np.exp(1 + latent)),
        "recency_days": 100 - 20 * latent + rng.normal(0, 5, n),
        "junk": rng.uniform(0, 1000, n),
        "rare_flag": (rng.random(n) < 0.001).astype(float),
        "region=A": (rng.random(n) < 0.5).astype(float),
        "cat_a": counts[:, 0], "cat_b": counts[:, 1], "cat_c": counts[:, 2], "cat_d": counts[:, 3],
    }).astype(np.float32)


def _build(frame: pd.DataFrame, **settings) -> object:
    cfg = FeaturesConfig(**{"count_columns": ["cat_*"], "count_components": 2, **settings})
    return build_features(frame, cfg, seed=0, categorical={"region": ["region=A"]})


def test_selection_reasons() -> None:
    result = _build(_table())
    assert result.dropped["spend_copy"].startswith("correlated with spend_total (rho 1.00")
    assert result.dropped["junk"].startswith("isolated")
    assert result.dropped["rare_flag"].startswith("sparse")
    assert result.dropped["region=A"] == "categorical"
    assert result.names == ["spend_total", "n_orders", "recency_days", "counts_svd_1",
                            "counts_svd_2"]
    assert result.n_features_in == 11


def test_matrix_is_float32_finite_and_block_weighted() -> None:
    result = _build(_table(), count_weight=0.5)
    assert result.matrix.dtype == np.float32 and result.matrix.shape == (2000, 5)
    assert np.isfinite(result.matrix).all()
    variance = result.matrix.var(axis=0)
    assert variance[:3].sum() == pytest.approx(1.0, rel=1e-3)
    assert variance[3:].sum() == pytest.approx(0.25, rel=1e-3)


def test_a_basket_is_found_without_a_hint_and_its_size_embedded_on_request() -> None:
    frame = _table()
    found = build_features(frame, FeaturesConfig(count_components=2), seed=0,
                           categorical={"region": ["region=A"]})
    assert found.kinds.of("basket") == []  # 4 count columns are too few for a basket block
    wide = frame.assign(**{f"cat_{j}": np.roll(frame["cat_d"].to_numpy(), j) for j in range(6)})
    found = build_features(wide, FeaturesConfig(count_components=2), seed=0)
    assert "counts_svd_1" in found.names and "basket_size" not in found.names
    sized = build_features(wide, FeaturesConfig(count_components=2, basket_size=True), seed=0)
    assert "basket_size" in sized.names
    assert sized.transforms["basket_size"].startswith("items per customer")


def test_a_column_related_only_to_the_basket_is_not_isolated() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    favourite = rng.integers(0, 2, n)
    basket = rng.poisson(np.where(favourite[:, None] == np.arange(12) % 2, 1.5, 0.05), (n, 12))
    frame = pd.DataFrame(basket, columns=[f"item{j}" for j in range(12)]).astype(np.float32)
    frame["loyalty"] = favourite + rng.normal(0, 0.3, n)  # related to what they buy only
    frame["noise_a"] = rng.normal(size=n)
    frame["noise_b"] = rng.normal(size=n)
    result = build_features(frame, FeaturesConfig(), seed=0)
    assert len(result.kinds.of("basket")) == 12
    assert "loyalty" in result.names
    assert result.dropped["noise_a"].startswith("isolated")


def test_products_and_ratios_of_other_columns_are_dropped() -> None:
    rng = np.random.default_rng(1)
    orders = 1 + rng.poisson(3.0, 3000)
    value = np.exp(rng.normal(3.0, 0.5, 3000))
    frame = pd.DataFrame({"spend": orders * value, "orders": orders, "value": value,
                          "visits": orders + rng.poisson(2.0, 3000)}).astype(np.float32)
    result = build_features(frame, FeaturesConfig(), seed=0)
    assert result.dropped == {"spend": "derived: product of orders and value"}
    ratio = frame.assign(spend=value, value=orders * value)  # value = spend * orders
    assert build_features(ratio, FeaturesConfig(), seed=0).dropped["spend"].startswith("derived")
    kept = build_features(frame, FeaturesConfig(derived_tolerance=None), seed=0)
    assert "spend" in kept.names


def test_dequantise_breaks_ties_and_log_tames_skew() -> None:
    result = _build(_table())
    orders = result.matrix[:, result.names.index("n_orders")]
    assert len(np.unique(orders)) > 1900
    raw = _table()["n_orders"].to_numpy()
    low, high = orders[raw == 1], orders[raw == 2]
    assert low.max() > high.min()  # neighbouring integers overlap: no step in the density
    spend = result.matrix[:, result.names.index("spend_total")]
    centred = spend - spend.mean()
    assert abs((centred**3).mean() / centred.std() ** 3) < 0.5


def test_exclude_isolation_off_categorical_on_and_pca() -> None:
    frame = _table()
    result = _build(frame, exclude=["recency*"], isolation_threshold=None,
                    include_categorical=True, pca_components=3)
    assert result.dropped["recency_days"] == "excluded"
    assert "junk" not in result.dropped and "region=A" not in result.dropped
    assert result.names == ["pca_1", "pca_2", "pca_3"]
    assert _build(frame, pca_components=0.9).matrix.shape[1] <= 5


def test_seeded_and_deterministic() -> None:
    frame = _table()
    first = build_features(frame, FeaturesConfig(), seed=3)
    again = build_features(frame, FeaturesConfig(), seed=3)
    assert np.array_equal(first.matrix, again.matrix)


def test_standard_scaling_gives_unit_total_variance() -> None:
    result = _build(_table(), count_columns=[])
    assert result.matrix.var(axis=0).sum() == pytest.approx(1.0, rel=1e-3)


def test_a_categorical_column_weighs_one_numeric_column_whatever_its_levels() -> None:
    rng = np.random.default_rng(2)
    n = 3000
    plan = rng.choice(["basic", "plus", "pro", "max", "team"], n)
    frame = pd.DataFrame({"tenure": rng.gamma(2.0, 10.0, n), "charges": rng.normal(50, 10, n),
                          **{f"plan={level}": (plan == level).astype(float)
                             for level in ["basic", "plus", "pro", "max", "team"]},
                          "paperless=yes": (rng.random(n) < 0.3).astype(float)})
    onehots = {"plan": [c for c in frame if c.startswith("plan=")], "paperless": ["paperless=yes"]}
    result = build_features(frame, FeaturesConfig(include_categorical=True), seed=0,
                            categorical=onehots)
    variance = pd.Series(result.matrix.var(axis=0), index=result.names)
    one_numeric = variance["charges"]
    assert variance[onehots["plan"]].sum() == pytest.approx(one_numeric, rel=1e-3)
    assert variance["paperless=yes"] == pytest.approx(one_numeric, rel=1e-3)
    assert result.transforms["plan"].startswith("one-hot (5 levels)")
    muted = build_features(frame, FeaturesConfig(include_categorical=True, categorical_weight=0.5),
                           seed=0,
                           categorical=onehots)
    assert muted.matrix[:, 2:].var(axis=0).sum() * 4 == pytest.approx(
        result.matrix[:, 2:].var(axis=0).sum() * (muted.matrix[:, :2].var(axis=0).sum()
                                                  / result.matrix[:, :2].var(axis=0).sum()),
        rel=1e-3)


def test_columns_on_one_integer_scale_keep_their_relative_spread() -> None:
    """Pixel-like columns: a rarely lit edge pixel stays small instead of being blown up."""
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 17, size=(1000, 12)).astype(float)
    pixels[:, 0] = np.where(rng.random(1000) < 0.02, rng.integers(1, 9, 1000), 0)
    frame = pd.DataFrame(pixels, columns=[f"px{i}" for i in range(12)])
    assert features.shared_scale_columns(frame) == list(frame.columns)
    result = build_features(frame, FeaturesConfig(), seed=0)
    spread = result.matrix.std(axis=0)
    assert spread[0] < 0.3 * np.median(spread[1:])
    assert "shared scale" in result.transforms["px3"]
    apart = build_features(frame, FeaturesConfig(shared_scale=False), seed=0).matrix.std(axis=0)
    assert apart[0] == pytest.approx(np.median(apart[1:]), rel=0.05)
    mixed = frame.assign(px5=frame["px5"] * 40)  # one column on another scale: none shared
    assert features.shared_scale_columns(mixed) == []


def test_isolation_keeps_a_table_whose_columns_are_all_independent() -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=1000) for i in range(6)})
    assert build_features(frame, FeaturesConfig(), seed=0).names == list(frame.columns)
    frame["y"] = frame["x0"] + rng.normal(0, 0.5, 1000)  # now x0 and y relate, the rest is junk
    assert build_features(frame, FeaturesConfig(), seed=0).names == ["x0", "y"]


def test_a_wide_table_of_independent_columns_is_kept_whole() -> None:
    """Among 600 independent columns on 300 rows some pair reaches |rho| 0.2 by chance alone:
    the isolation filter compares with that, not with its fixed 0.1."""
    frame = pd.DataFrame(np.random.default_rng(6).normal(size=(300, 600)),
                         columns=[f"c{i}" for i in range(600)])
    assert features.chance_correlation(600, 300) > 0.3
    assert build_features(frame, FeaturesConfig(), seed=0).matrix.shape == (300, 600)


def test_two_and_one_column_tables_are_fine() -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.normal(size=500), "y": rng.normal(size=500)})
    assert build_features(frame, FeaturesConfig(), seed=0).matrix.shape == (500, 2)
    assert build_features(frame[["x"]], FeaturesConfig(), seed=0).matrix.shape == (500, 1)
    rho = features.spearman(frame.assign(z=frame["x"] * 3))
    assert rho.shape == (3, 3) and rho[0, 2] == pytest.approx(1.0, abs=1e-5)


def test_no_feature_left_is_a_data_error() -> None:
    with pytest.raises(DataError, match="no feature column left"):
        build_features(_table()[["junk", "region=A"]],
                       FeaturesConfig(exclude=["junk"]), seed=0,
                       categorical={"region": ["region=A"]})


def test_pca_variance_table() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(500, 3)) @ rng.normal(size=(3, 12))
    table = pca_variance(matrix, max_components=8)
    assert list(table.columns) == ["component", "explained_variance_ratio", "cumulative"]
    assert len(table) == 8 and table["cumulative"].iloc[2] == pytest.approx(1.0, abs=1e-6)
    assert table["cumulative"].is_monotonic_increasing


def test_count_block_in_chunks_and_on_a_fit_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunking changes nothing; an SVD fitted on a third of the rows spans the same space."""
    frame = _table(3000)
    whole = _build(frame)
    columns = [i for i, name in enumerate(whole.names) if name.startswith("counts_svd")]
    monkeypatch.setattr(features, "CHUNK_ROWS", 700)
    np.testing.assert_allclose(_build(frame).matrix, whole.matrix, atol=1e-4)
    monkeypatch.setattr(features, "SVD_FIT_ROWS", 1000)
    sampled = _build(frame).matrix
    for j in columns:
        assert abs(np.corrcoef(sampled[:, j], whole.matrix[:, j])[0, 1]) > 0.98


def test_components_needed_counts_up_to_the_fraction_or_says_none():
    table = pd.DataFrame({"component": [1, 2, 3], "cumulative": [0.5, 0.85, 0.95]})
    assert components_needed(table, 0.5) == 1
    assert components_needed(table, 0.9) == 3
    assert components_needed(table, 0.99) is None
