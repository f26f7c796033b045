"""Column kinds from the data: tables built so each column's kind is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from seglab.config import DataConfig, FeaturesConfig
from seglab.data import prepare_table
from seglab.kinds import TableKinds, column_kinds


def _shop(n: int = 3000, products: int = 40, seed: int = 0) -> pd.DataFrame:
    """Customers with a basket of ``products`` sparse counts, numerics, a flag and a 2nd id."""
    rng = np.random.default_rng(seed)
    taste = rng.dirichlet(np.full(products, 0.3), size=4)[rng.integers(0, 4, n)]
    size = rng.negative_binomial(2, 0.3, n) + 1
    basket = np.vstack([rng.multinomial(s, p) for s, p in zip(size, taste, strict=True)])
    frame = pd.DataFrame(basket, columns=[f"item{j}" for j in range(products)])
    frame["tenure_days"] = rng.gamma(2.0, 200.0, n)
    frame["temperature"] = rng.normal(0, 1, n)
    frame["n_visits"] = rng.poisson(6, n)
    frame["vip"] = rng.random(n) < 0.2
    frame["legacy_number"] = rng.permutation(n) + 10_000
    frame["customer_id"] = np.arange(n)
    return frame


def _kinds(frame: pd.DataFrame, **features: object) -> TableKinds:
    table = prepare_table(frame, DataConfig(), source="shop")
    return table.column_kinds(FeaturesConfig(**features), seed=0)


def test_a_basket_block_and_every_other_kind_are_told_from_the_values() -> None:
    kinds = _kinds(_shop())
    assert kinds.of("basket") == [f"item{j}" for j in range(40)]
    assert kinds.columns["tenure_days"].kind == "continuous"
    assert kinds.columns["tenure_days"].skew > 1.0
    assert kinds.columns["temperature"].kind == "continuous"
    assert kinds.columns["n_visits"].kind == "count"
    assert kinds.columns["vip"].kind == "binary"
    assert kinds.columns["legacy_number"].kind == "identifier"
    assert kinds.columns["item0"].zero_share >= 0.5


def test_names_do_not_decide() -> None:
    frame = _shop()
    names = {c: f"col{j}" for j, c in enumerate(frame.columns) if c != "customer_id"}
    assert len(_kinds(frame.rename(columns=names)).of("basket")) == 40


def test_image_pixels_are_a_bounded_scale_not_a_basket() -> None:
    digits = load_digits()
    frame = pd.DataFrame(digits.data, columns=[f"p{j}" for j in range(64)])
    frame["customer_id"] = np.arange(len(frame))
    kinds = _kinds(frame)
    assert kinds.of("basket") == []
    assert kinds.columns["p1"].zero_share >= 0.5  # sparse edge pixels, still not a basket


def test_a_few_sparse_counts_are_counts() -> None:
    frame = _shop(products=4)
    assert _kinds(frame).of("basket") == []


def test_overrides_and_hints_win_and_say_so() -> None:
    kinds = _kinds(_shop(), kinds={"item1*": "continuous", "legacy_number": "count"},
                   count_columns=["n_visits"])
    assert kinds.columns["item1"].kind == "continuous"
    assert kinds.columns["item1"].override == "features.kinds: item1*"
    assert kinds.columns["legacy_number"].kind == "count"
    assert kinds.columns["n_visits"].kind == "basket"
    assert kinds.columns["n_visits"].override == "features.count_columns: n_visits"


def test_categorical_columns_keep_their_kind_and_kinds_round_trip() -> None:
    frame = _shop()
    frame["channel"] = np.where(frame["vip"], "app", "web")
    frame.loc[::3, "channel"] = "store"
    kinds = _kinds(frame)
    assert kinds.columns["channel"].kind == "categorical"
    assert kinds.columns["channel"].levels == 3
    assert TableKinds.from_dict(kinds.to_dict()) == kinds
    shown = kinds.frame()
    assert shown.loc["item0", "kind"] == "basket"
    assert "features.kinds" in shown.loc["item0", "override with"]
    assert "40 basket" in kinds.render()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kinds_do_not_depend_on_row_order(seed: int) -> None:
    frame = _shop()
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    first, again = _kinds(frame), _kinds(shuffled)
    assert {c: k.kind for c, k in first.columns.items()} == {c: k.kind for c, k in again.columns.items()}


def test_the_sample_bounds_the_work() -> None:
    frame = _shop(n=3000).drop(columns=["customer_id", "vip"])
    kinds = column_kinds(frame.astype(np.float32), {}, sample=500)
    assert len(kinds.of("basket")) == 40
