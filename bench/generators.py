"""Labelled test tables that do not come from ``seglab.synth``: purchase baskets and mixed CRM
extracts with latent classes.

Both generators are deterministic per ``seed`` (one ``numpy.random.default_rng(seed)``, drawn in
a fixed order) and return a DataFrame with a customer id column first and the ground truth in
``segment`` last.

:func:`make_baskets`: purchase counts per product, mostly zero.

- Products are ``prod_0001`` ... (``names="codes"``) or grocery-like item names such as
  ``organic_coffee`` (``names="items"``).
- Segment preferences: every segment draws its favourites (about ``products / segments * 1.5``
  products, chosen independently per segment, so neighbouring segments share some) and gives
  them a large weight; a few generic popular products (5 % of the products, at least 2) get a
  large weight in every segment; every other product keeps a small base weight. Each customer's
  own preference vector is ``Dirichlet(concentration * segment_preference)``, so customers of a
  segment differ from each other.
- Basket sizes: customer ``i`` buys ``N_i = 1 + Poisson(mean * u_i)`` items with
  ``u_i ~ Gamma(shape=basket_shape, 1/basket_shape)`` (every customer bought something; the
  totals are one plus a negative binomial, a wide spread: with shape 0.8 the 99th percentile is
  ~10 times the median), spread over products by ``Multinomial(N_i, p_i)``. ``mean`` is found by
  bisection so that the expected fraction of zero cells (over about ``CALIBRATION_ROWS`` evenly
  spaced rows) is ``sparsity``.
- Segment sizes are unequal: ``Dirichlet(4)`` shares, each at least ``0.5 / segments``.
- ``extras=True`` adds customer-level columns that carry no segment information:
  ``tenure_days`` (uniform 30-3,000), ``recency_days`` (shorter for larger baskets, lognormal)
  and a categorical ``store_format`` (``hyper``/``super``/``convenience``/``online``).

:func:`make_mixed_crm`: 5 categorical and 5 numeric columns driven by ``classes`` latent classes.

- Categorical columns (``region`` 5 levels, ``plan`` 4, ``channel`` 3, ``device`` 4,
  ``payment`` 3): class ``c``'s level probabilities are ``(1 - distinctness) * shared +
  distinctness * own_c`` with ``shared`` and ``own_c`` drawn from ``Dirichlet(1)``.
- Numeric columns (``age``, ``income``, ``monthly_spend``, ``tenure_months``,
  ``support_calls``): a latent standard-normal vector per customer shifted by the class mean
  (each coordinate ``Normal(0, separation)``), then mapped to the column's scale (income and
  spend lognormal, tenure and calls non-negative integers).
- ``missing`` of the feature cells (not id or label) are blanked at random.

Example::

    from bench.generators import make_baskets, make_mixed_crm
    baskets = make_baskets(20_000, products=80, segments=6, sparsity=0.89, seed=0)
    crm = make_mixed_crm(10_000, classes=5, seed=0)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

ID_COLUMN = "customer_id"
LABEL_COLUMN = "segment"
BASKET_EXTRA_NUMERIC = ("tenure_days", "recency_days")
BASKET_EXTRA_CATEGORICAL = ("store_format",)
CRM_CATEGORICAL: dict[str, tuple[str, ...]] = {
    "region": ("north", "south", "east", "west", "centre"),
    "plan": ("basic", "standard", "plus", "premium"),
    "channel": ("store", "web", "app"),
    "device": ("android", "ios", "desktop", "none"),
    "payment": ("card", "direct_debit", "invoice"),
}
CALIBRATION_ROWS = 4_000
"""About this many rows decide the basket-size mean that gives the asked sparsity."""
CRM_NUMERIC = ("age", "income", "monthly_spend", "tenure_months", "support_calls")

_ADJECTIVES = ("organic", "fresh", "frozen", "premium", "budget", "local", "family", "diet",
               "classic", "spicy", "smoked", "wholegrain")
_NOUNS = ("coffee", "tea", "milk", "cheese", "yoghurt", "bread", "pasta", "rice", "cereal",
          "apples", "bananas", "tomatoes", "salad", "chicken", "beef", "salmon", "eggs", "butter",
          "juice", "water", "beer", "wine", "chocolate", "crisps", "nappies", "shampoo",
          "detergent", "petfood", "icecream", "pizza")


def product_names(products: int, names: Literal["codes", "items"] = "codes") -> list[str]:
    """``prod_0001``... or ``adjective_noun`` item names (at most 360), in a fixed order."""
    if names == "codes":
        return [f"prod_{i:04d}" for i in range(1, products + 1)]
    items = [f"{adjective}_{noun}" for adjective in _ADJECTIVES for noun in _NOUNS]
    if products > len(items):
        raise ValueError(f"at most {len(items)} item names; use names='codes'")
    return items[:products]


def segment_sizes(rng: np.random.Generator, rows: int, segments: int) -> np.ndarray:
    """Unequal segment sizes summing to ``rows``: Dirichlet(4) shares, each >= 0.5 / segments."""
    shares = rng.dirichlet(np.full(segments, 4.0))
    floor = 0.5 / segments
    shares = floor + (1 - floor * segments) * shares
    sizes = np.floor(shares * rows).astype(np.int64)
    sizes[: rows - sizes.sum()] += 1
    return sizes


def _zero_fraction(mean: float, shares: np.ndarray, size_factor: np.ndarray) -> float:
    """Expected zero fraction when row ``i`` buys ``1 + Poisson(mean * size_factor[i])`` items
    with product probabilities ``shares[i]``: ``E[(1 - p)^N] = (1 - p) exp(-mean u p)``."""
    return float(((1 - shares) * np.exp(-mean * size_factor[:, None] * shares)).mean())


def _mean_for_sparsity(shares: np.ndarray, size_factor: np.ndarray, sparsity: float) -> float:
    """The basket-size mean whose expected zero fraction is ``sparsity`` (bisection)."""
    if _zero_fraction(0.0, shares, size_factor) <= sparsity:
        raise ValueError(f"sparsity {sparsity} below what one item per customer gives")
    low, high = 0.0, 1.0
    while _zero_fraction(high, shares, size_factor) > sparsity:
        low, high = high, 2 * high
    for _ in range(50):
        middle = (low + high) / 2
        if _zero_fraction(middle, shares, size_factor) > sparsity:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def make_baskets(rows: int, products: int = 80, segments: int = 6, sparsity: float = 0.89,
                 seed: int = 0, *, names: Literal["codes", "items"] = "codes", extras: bool = False,
                 concentration: float = 20.0, favourite_weight: float = 12.0,
                 popular_weight: float = 6.0, basket_shape: float = 0.8) -> pd.DataFrame:
    """Purchase baskets of ``rows`` customers over ``products`` products (see the module docstring).

    Args:
        rows: customers.
        products: product columns.
        segments: latent segments (the ``segment`` column, ``seg_0`` ...).
        sparsity: expected fraction of zero product cells, in (0, 1).
        seed: the random seed.
        names: product column names, ``codes`` (``prod_0001``) or ``items``.
        extras: add ``tenure_days``, ``recency_days`` and ``store_format`` (no segment signal).
        concentration: Dirichlet concentration of a customer around the segment's preferences
            (lower: customers of a segment differ more, segments overlap more).
        favourite_weight: weight of a segment's favourite product against 1 for the others.
        popular_weight: weight of the generic popular products in every segment.
        basket_shape: Gamma shape of the basket-size multiplier (lower: wider spread).

    Returns:
        ``customer_id``, the product counts (int64), the extras when asked, ``segment``; rows
        shuffled.
    """
    if not 0 < sparsity < 1:
        raise ValueError("sparsity must be in (0, 1)")
    if segments < 2 or products < 2 * segments:
        raise ValueError("need at least 2 segments and 2 products per segment")
    rng = np.random.default_rng(seed)
    n_popular = max(2, round(0.05 * products))
    popular = rng.choice(products, size=n_popular, replace=False)
    others = np.setdiff1d(np.arange(products), popular)
    n_favourites = max(2, round(1.5 * products / segments))
    preferences = np.ones((segments, products))
    preferences[:, popular] = popular_weight
    for s in range(segments):
        preferences[s, rng.choice(others, size=n_favourites, replace=False)] = favourite_weight
    preferences /= preferences.sum(axis=1, keepdims=True)

    sizes = segment_sizes(rng, rows, segments)
    segment = np.repeat(np.arange(segments), sizes)
    shares = np.vstack([rng.dirichlet(concentration * products * preferences[s], size=size)
                        for s, size in enumerate(sizes)])
    size_factor = rng.gamma(basket_shape, 1.0 / basket_shape, size=rows)
    calibration = slice(None, None, max(1, rows // CALIBRATION_ROWS))  # every k-th row: enough
    mean = _mean_for_sparsity(shares[calibration], size_factor[calibration], sparsity)
    totals = 1 + rng.poisson(mean * size_factor)
    counts = rng.multinomial(totals, shares).astype(np.int64)

    frame = pd.DataFrame(counts, columns=product_names(products, names))
    if extras:
        basket_total = counts.sum(axis=1)
        frame["tenure_days"] = rng.integers(30, 3_000, size=rows)
        median_total = max(float(np.median(basket_total)), 1.0)
        recency = rng.lognormal(np.log(40.0) - 0.5 * np.log1p(basket_total / median_total), 0.8)
        frame["recency_days"] = np.maximum(1, recency).astype(np.int64)
        frame["store_format"] = rng.choice(["hyper", "super", "convenience", "online"], size=rows,
                                           p=[0.3, 0.35, 0.2, 0.15])
    frame[LABEL_COLUMN] = [f"seg_{s}" for s in segment]
    order = rng.permutation(rows)
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(0, ID_COLUMN, np.arange(1_000_001, 1_000_001 + rows, dtype=np.int64))
    return frame


def make_mixed_crm(rows: int, classes: int = 5, seed: int = 0, *, missing: float = 0.05,
                   separation: float = 1.4, distinctness: float = 0.75) -> pd.DataFrame:
    """A CRM extract with 5 categorical and 5 numeric columns and latent classes.

    Args:
        rows: customers.
        classes: latent classes (the ``segment`` column, ``class_0`` ...).
        seed: the random seed.
        missing: fraction of feature cells blanked at random.
        separation: standard deviation of the class means on the latent numeric scale (the
            within-class spread is 1): lower overlaps more.
        distinctness: weight of a class's own level probabilities against the shared ones.

    Returns:
        ``customer_id``, ``region``, ``plan``, ``channel``, ``device``, ``payment`` (strings,
        missing as ``None``), ``age``, ``income``, ``monthly_spend``, ``tenure_months``,
        ``support_calls`` (floats, missing as NaN), ``segment``; rows in random order.
    """
    if classes < 2:
        raise ValueError("need at least 2 classes")
    rng = np.random.default_rng(seed)
    sizes = segment_sizes(rng, rows, classes)
    label = rng.permutation(np.repeat(np.arange(classes), sizes))
    frame = pd.DataFrame({ID_COLUMN: np.arange(5_000_001, 5_000_001 + rows, dtype=np.int64)})
    for column, levels in CRM_CATEGORICAL.items():
        shared = rng.dirichlet(np.ones(len(levels)))
        probs = (1 - distinctness) * shared + distinctness * rng.dirichlet(np.ones(len(levels)),
                                                                           size=classes)
        cumulative = probs.cumsum(axis=1)[label]
        codes = (rng.random(rows)[:, None] > cumulative).sum(axis=1)
        frame[column] = np.asarray(levels, dtype=object)[np.minimum(codes, len(levels) - 1)]
    means = rng.normal(0.0, separation, size=(classes, len(CRM_NUMERIC)))
    z = means[label] + rng.standard_normal((rows, len(CRM_NUMERIC)))
    frame["age"] = np.clip(np.round(45 + 12 * z[:, 0]), 18, 95)
    frame["income"] = np.round(np.exp(10.6 + 0.35 * z[:, 1]), -2)
    frame["monthly_spend"] = np.round(np.exp(3.8 + 0.45 * z[:, 2]), 2)
    frame["tenure_months"] = np.maximum(0, np.round(36 + 20 * z[:, 3]))
    frame["support_calls"] = rng.poisson(np.exp(0.5 + 0.6 * z[:, 4])).astype(np.float64)
    features = [*CRM_CATEGORICAL, *CRM_NUMERIC]
    blank = rng.random((rows, len(features))) < missing
    for j, column in enumerate(features):
        frame.loc[blank[:, j], column] = None if column in CRM_CATEGORICAL else np.nan
    frame[LABEL_COLUMN] = [f"class_{c}" for c in label]
    return frame
