"""Synthetic customer table with known, non-convex, unequal segments (``seglab data synth``).

Design:

* **Latent truth.** Each segment is a thick (sigma 0.25), curved random-walk skeleton of 10 knots
  in a 3-D latent space; skeletons are placed at least 1.6 apart, so the segments are separable
  by density but not convex. Segment sizes follow Zipf(1): 8 segments from about 35 % down to
  4.5 %. 3 % of customers are *noise*: uniform in the bounding box, labelled -1.
* **Behaviour.** Six smooth scores of the latent point (mostly linear, mild sine) drive
  heavy-tailed numerics: ``avg_order_value`` (lognormal), ``n_orders`` (1 + Poisson),
  ``spend_total`` (their product), ``recency_days``, ``tenure_days``, ``discount_share``,
  ``return_rate``. Redundant copies (``spend_12m``, ``log_spend``, ``n_orders_12m``, ``n_items``,
  ``n_distinct_categories``) and junk (``noise_num_1``, ``noise_num_2``, ``rare_flag_*``) test
  feature selection.
* **Baskets.** ``cat_000 … cat_119`` are purchase counts, Poisson around a segment's taste for
  8 favourite categories; about 96 % of the block is zero.
* **Categoricals.** ``channel`` depends on the segment; ``region``, ``device`` and ``payment``
  are nuisance columns, independent of it.

Ground truth is the ``segment`` column: the skeleton a customer was drawn from (0 = largest
segment), or -1 for a noise customer. It is for scoring (ARI/AMI) only, never a feature.

Rows are generated in chunks of 100k with one random stream per chunk, so a table of millions of
rows needs memory for the result only, and the same seed always gives the same table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from seglab.errors import SeglabError
from seglab.tables import CSV_SUFFIXES, PARQUET_SUFFIXES

N_SEGMENTS = 8
LATENT_DIM = 3
N_CATEGORIES = 120
NOISE_FRACTION = 0.03
CHUNK_ROWS = 100_000

_THICKNESS = 0.25
_MIN_SEPARATION = 1.6
_N_KNOTS = 10
_STEP = 1.0
_FAVOURITES = 8
_TASTE_STRENGTH = 4.0
_LATENT_MIX = 0.1
_MEAN_BASKET = 5.0
_FLAG_RATE = 0.002
_N_FLAGS = 10

CHANNELS = ("web", "store", "app")
REGIONS = tuple(f"R{j:02d}" for j in range(1, 26))
DEVICES = ("mobile", "desktop", "tablet", "other")
PAYMENTS = ("card", "paypal", "invoice", "voucher", "cash")

NUMERIC_COLUMNS = (
    "spend_total",
    "spend_12m",
    "log_spend",
    "avg_order_value",
    "n_orders",
    "n_orders_12m",
    "recency_days",
    "tenure_days",
    "discount_share",
    "return_rate",
    "n_items",
    "n_distinct_categories",
    "noise_num_1",
    "noise_num_2",
)
INTEGER_COLUMNS = ("n_orders", "n_orders_12m", "n_items", "n_distinct_categories")
COUNT_COLUMNS = tuple(f"cat_{j:03d}" for j in range(N_CATEGORIES))
CATEGORICAL_COLUMNS = ("channel", "region", "device", "payment")
FLAG_COLUMNS = tuple(f"rare_flag_{j}" for j in range(_N_FLAGS))
REDUNDANT_COLUMNS = ("spend_12m", "log_spend", "n_orders_12m", "n_items", "n_distinct_categories")
JUNK_COLUMNS = ("noise_num_1", "noise_num_2", *FLAG_COLUMNS)
ID_COLUMN = "customer_id"
LABEL_COLUMN = "segment"


@dataclass(frozen=True)
class _World:
    """Everything shared by all rows of one seed.

    Attributes:
        skeletons: per segment, the knots of its curved polyline in latent space.
        weights: segment probabilities (Zipf).
        low, high: the latent bounding box (noise customers are uniform in it).
        centre, scale: map the box to about [-1, 1].
        linear_map, sine_map: latent point -> six behaviour scores.
        taste: per segment, the preference for each product category.
        taste_mix: latent point -> a mild shift of every category's preference.
        channel_probs: per segment, the probability of each channel.
    """

    skeletons: list[np.ndarray]
    weights: np.ndarray
    low: np.ndarray
    high: np.ndarray
    centre: np.ndarray
    scale: float
    linear_map: np.ndarray
    sine_map: np.ndarray
    taste: np.ndarray
    taste_mix: np.ndarray
    channel_probs: np.ndarray


def make_customers(n_rows: int, *, seed: int = 0) -> pd.DataFrame:
    """Generate a customer table with a ground-truth ``segment`` column.

    Args:
        n_rows: number of customers (at least 1).
        seed: random seed; equal seeds give equal tables.

    Returns:
        One row per customer: ``customer_id``, the numeric behaviour columns, the
        ``cat_*`` counts (int16), the categorical columns, ``rare_flag_*`` booleans and
        ``segment`` (int16, -1 = noise).
    """
    return pd.concat(list(_iter_chunks(n_rows, seed)), ignore_index=True)


def write_customers(n_rows: int, path: str | Path, *, seed: int = 0) -> Path:
    """Generate a customer table and write it chunk by chunk (Parquet, or CSV by suffix).

    Args:
        n_rows: number of customers.
        path: ``.parquet``/``.pq``, or ``.csv``/``.csv.gz``; parent folders are created.
        seed: random seed.

    Returns:
        The path written.
    """
    path = Path(path)
    name = path.name.lower()
    if not name.endswith(CSV_SUFFIXES + PARQUET_SUFFIXES):
        raise SeglabError(
            f"{path}: unknown table format; use a .parquet, .pq, .csv or .csv.gz path"
        )
    chunks = _iter_chunks(n_rows, seed)  # validates n_rows before anything is created
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(CSV_SUFFIXES):
        _write_csv(chunks, path)
    else:
        _write_parquet(chunks, path)
    return path


def _write_csv(chunks: Iterator[pd.DataFrame], path: Path) -> None:
    """Stream chunks through Arrow's CSV writer (gzip for ``.gz``), categoricals as text."""
    as_text = dict.fromkeys(CATEGORICAL_COLUMNS, "str")
    with pa.output_stream(str(path), compression="detect") as sink:
        writer: pacsv.CSVWriter | None = None
        for chunk in chunks:
            table = pa.Table.from_pandas(chunk.astype(as_text), preserve_index=False)
            writer = writer or pacsv.CSVWriter(sink, table.schema)
            writer.write_table(table)
        if writer is not None:
            writer.close()


def _write_parquet(chunks: Iterator[pd.DataFrame], path: Path) -> None:
    writer: pq.ParquetWriter | None = None
    try:
        for chunk in chunks:
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _iter_chunks(n_rows: int, seed: int) -> Iterator[pd.DataFrame]:
    """Check ``n_rows`` now, then lazily yield chunks of :data:`CHUNK_ROWS` rows."""
    if n_rows < 1:
        raise SeglabError(f"the number of rows must be at least 1 (got {n_rows})")
    return _generate_chunks(n_rows, seed)


def _generate_chunks(n_rows: int, seed: int) -> Iterator[pd.DataFrame]:
    """The table in chunks, one random stream per chunk (so chunk k depends only on the seed)."""
    world_seq, rows_seq = np.random.SeedSequence(seed).spawn(2)
    world = _make_world(np.random.default_rng(world_seq))
    starts = range(0, n_rows, CHUNK_ROWS)
    for start, chunk_seq in zip(starts, rows_seq.spawn(len(starts)), strict=True):
        rows = min(CHUNK_ROWS, n_rows - start)
        yield _make_chunk(world, np.random.default_rng(chunk_seq), start, rows, n_rows)


def _make_world(rng: np.random.Generator) -> _World:
    box = 1.6 * N_SEGMENTS ** (1 / LATENT_DIM) + 1.0  # room for the skeletons to keep apart
    skeletons = _place_skeletons(rng, box)
    knots = np.concatenate(skeletons)
    low, high = knots.min(0) - 1.0, knots.max(0) + 1.0
    taste = np.zeros((N_SEGMENTS, N_CATEGORIES))
    for segment in range(N_SEGMENTS):
        favourites = rng.choice(N_CATEGORIES, _FAVOURITES, replace=False)
        taste[segment, favourites] = rng.uniform(0.5, 1.0, _FAVOURITES)
    return _World(
        skeletons=skeletons,
        weights=_zipf(N_SEGMENTS),
        low=low,
        high=high,
        centre=(low + high) / 2,
        scale=float((high - low).max() / 2),
        linear_map=np.linalg.qr(rng.normal(size=(6, 6)))[0][:, :LATENT_DIM],
        sine_map=rng.normal(size=(6, LATENT_DIM)),
        taste=taste,
        taste_mix=rng.normal(size=(N_CATEGORIES, LATENT_DIM)),
        channel_probs=rng.dirichlet(np.ones(len(CHANNELS)), size=N_SEGMENTS),
    )


def _random_walk(rng: np.random.Generator, start: np.ndarray) -> np.ndarray:
    """A smooth polyline of :data:`_N_KNOTS` knots: each step turns a little from the last."""
    knots = [start]
    direction = rng.normal(size=LATENT_DIM)
    direction /= np.linalg.norm(direction)
    for _ in range(_N_KNOTS - 1):
        direction = 0.7 * direction + 0.3 * rng.normal(size=LATENT_DIM) / np.sqrt(LATENT_DIM)
        direction /= np.linalg.norm(direction)
        knots.append(knots[-1] + _STEP * direction)
    return np.array(knots)


def _densify(knots: np.ndarray) -> np.ndarray:
    """Points along the polyline (6 per segment), to measure distances between skeletons."""
    t = np.linspace(0.0, 1.0, 6)[None, :, None]
    return (knots[:-1, None] + t * (knots[1:, None] - knots[:-1, None])).reshape(-1, LATENT_DIM)


def _place_skeletons(rng: np.random.Generator, box: float) -> list[np.ndarray]:
    """Rejection-sample one skeleton per segment, each at least the separation from the others."""
    placed: list[np.ndarray] = []
    dense: list[np.ndarray] = []
    for _ in range(N_SEGMENTS):
        for _attempt in range(5000):
            knots = _random_walk(rng, rng.uniform(-box, box, size=LATENT_DIM))
            points = _densify(knots)
            if all(_min_distance(points, other) > _MIN_SEPARATION for other in dense):
                placed.append(knots)
                dense.append(points)
                break
        else:
            raise RuntimeError("could not place the segment skeletons apart; try another seed")
    return placed


def _min_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.min(np.linalg.norm(a[:, None] - b[None], axis=2)))


def _latent_points(world: _World, rng: np.random.Generator, segment: np.ndarray) -> np.ndarray:
    """Latent positions: along the segment's skeleton plus Gaussian thickness; noise uniform."""
    z = np.empty((len(segment), LATENT_DIM))
    for s, knots in enumerate(world.skeletons):
        rows = np.flatnonzero(segment == s)
        piece = rng.integers(0, len(knots) - 1, size=len(rows))
        t = rng.random(len(rows))[:, None]
        z[rows] = knots[piece] * (1 - t) + knots[piece + 1] * t
        z[rows] += rng.normal(scale=_THICKNESS, size=(len(rows), LATENT_DIM))
    noise = np.flatnonzero(segment < 0)
    z[noise] = rng.uniform(world.low, world.high, size=(len(noise), LATENT_DIM))
    return z


def _purchase_counts(
    world: _World,
    rng: np.random.Generator,
    segment: np.ndarray,
    zn: np.ndarray,
    n_orders: np.ndarray,
) -> np.ndarray:
    """Poisson basket counts over categories; noise customers get a random spiky taste."""
    logits = _LATENT_MIX * (zn @ world.taste_mix.T)
    known = segment >= 0
    logits[known] += _TASTE_STRENGTH * world.taste[segment[known]]
    logits[~known] += _TASTE_STRENGTH * rng.random((int((~known).sum()), N_CATEGORIES)) ** 8
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    basket = _MEAN_BASKET * rng.gamma(5, 0.2, len(segment)) * np.sqrt(n_orders / 4.0)
    return rng.poisson(probs * basket[:, None]).astype(np.int16)


def _behaviour(
    rng: np.random.Generator, scores: np.ndarray, n_orders: np.ndarray, counts: np.ndarray
) -> dict[str, np.ndarray]:
    """Heavy-tailed numeric columns driven by six latent scores, plus redundant and junk copies."""
    m = len(scores)

    def jitter(sd: float) -> np.ndarray:
        return rng.normal(0.0, sd, m)

    aov = np.exp(3.6 + 0.9 * scores[:, 0] + jitter(0.08))
    spend = n_orders * aov
    recency = np.exp(3.2 + 0.8 * scores[:, 2] + jitter(0.08))
    columns = {
        "spend_total": spend,
        "spend_12m": spend * rng.beta(30, 3, m),
        "log_spend": np.log1p(spend),
        "avg_order_value": aov,
        "n_orders": n_orders,
        "n_orders_12m": np.maximum(1, np.round(n_orders * rng.beta(30, 3, m))),
        "recency_days": recency,
        "tenure_days": recency + np.exp(5.5 + 0.6 * scores[:, 3] + jitter(0.08)),
        "discount_share": 1 / (1 + np.exp(-(1.5 * scores[:, 4] + jitter(0.1)))),
        "return_rate": 1 / (1 + np.exp(-(-2.5 + 1.2 * scores[:, 5] + jitter(0.1)))),
        "n_items": counts.sum(1, dtype=np.int32),
        "n_distinct_categories": (counts > 0).sum(1),
        "noise_num_1": rng.normal(size=m),
        "noise_num_2": rng.uniform(0, 1000, m),
    }
    return {
        name: values.astype(np.int32 if name in INTEGER_COLUMNS else np.float32)
        for name, values in columns.items()
    }


def _draw_levels(
    rng: np.random.Generator, probs: np.ndarray, levels: tuple[str, ...], rows: int
) -> pd.Categorical:
    """One level per row; ``probs`` is one probability vector, or one per row."""
    cumulative = np.broadcast_to(probs, (rows, len(levels))).cumsum(1)
    codes = (rng.random((rows, 1)) > cumulative).sum(1).clip(0, len(levels) - 1)
    return pd.Categorical.from_codes(codes, categories=list(levels))


def _zipf(k: int) -> np.ndarray:
    """Probabilities proportional to 1, 1/2, ..., 1/k."""
    weights = 1.0 / np.arange(1, k + 1)
    return weights / weights.sum()


def _nominal_columns(
    world: _World, rng: np.random.Generator, segment: np.ndarray
) -> dict[str, pd.Categorical]:
    """``channel`` follows the segment (noise: a random segment's mix); the others are nuisance."""
    rows = len(segment)
    channel_of = np.where(segment < 0, rng.integers(0, N_SEGMENTS, rows), segment)
    return {
        "channel": _draw_levels(rng, world.channel_probs[channel_of], CHANNELS, rows),
        "region": _draw_levels(rng, _zipf(len(REGIONS)), REGIONS, rows),
        "device": _draw_levels(rng, _zipf(len(DEVICES)), DEVICES, rows),
        "payment": _draw_levels(rng, _zipf(len(PAYMENTS)), PAYMENTS, rows),
    }


def _customer_ids(start: int, rows: int, n_total: int) -> pd.Series:
    """``C0000001``-style ids, numbered from 1 across chunks (wider beyond 9,999,999 rows)."""
    width = max(7, len(str(n_total)))
    numbers = pd.Series(np.arange(start + 1, start + rows + 1)).astype("str")
    return "C" + numbers.str.zfill(width)


def _make_chunk(
    world: _World, rng: np.random.Generator, start: int, rows: int, n_total: int
) -> pd.DataFrame:
    """``rows`` customers numbered from ``start + 1``."""
    segment = rng.choice(N_SEGMENTS, size=rows, p=world.weights)
    segment[rng.random(rows) < NOISE_FRACTION] = -1
    zn = (_latent_points(world, rng, segment) - world.centre) / world.scale
    scores = 2.0 * zn @ world.linear_map.T + 0.3 * np.sin(2.0 * zn @ world.sine_map.T)
    n_orders = 1 + rng.poisson(np.exp(1.3 + 0.9 * scores[:, 1]))
    counts = _purchase_counts(world, rng, segment, zn, n_orders)
    flags = rng.random((_N_FLAGS, rows)) < _FLAG_RATE
    frame = pd.DataFrame(
        {
            ID_COLUMN: _customer_ids(start, rows, n_total),
            **_behaviour(rng, scores, n_orders, counts),
            **dict(zip(COUNT_COLUMNS, counts.T, strict=True)),
            **_nominal_columns(world, rng, segment),
            **dict(zip(FLAG_COLUMNS, flags, strict=True)),
            LABEL_COLUMN: segment.astype(np.int16),
        }
    )
    frame.index += start
    return frame
