"""Figures for the notebooks and the report (matplotlib; each function returns one Figure).

Every text that comes from the user (column names, titles) is drawn through :func:`literal`, so a
name such as ``cost in $\\frac{a}{$`` is shown as written, never parsed as mathtext.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from seglab.features import components_needed

NOISE_COLOUR = "#b0b0b0"
SegmentNames = Mapping[int, Mapping[str, Any]]
"""Segment -> ``{"name", "colour", ...}`` (:mod:`seglab.names`)."""
MAX_POINTS = 30_000
"""Scatter plots show at most this many points (a seeded sample); more only hides structure."""


def k_distance(curve: np.ndarray, positions: np.ndarray, *, k: int, eps: float,
               eps_low: float, eps_high: float, knee_position: float) -> Figure:
    """Sorted k-distance curve with the knee, the chosen eps and the stable band."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(positions * 100, curve, color="#1f77b4", lw=1.5, label=f"distance to {k}-th neighbour")
    ax.axhspan(eps_low, eps_high, color="#ff7f0e", alpha=0.15, label="band where the knee is stable")
    ax.axhline(eps, color="#d62728", ls="--", lw=1, label=f"eps = {eps:.3g}")
    ax.axvline(knee_position * 100, color="#7f7f7f", ls=":", lw=1, label="knee")
    ax.set(xlabel="points, sorted by k-distance (%)", ylabel="k-distance",
           title="k-distance curve: eps at the knee")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def embedding_map(coords: np.ndarray, labels: np.ndarray | None, *, title: str,
                  seed: int = 0, names: SegmentNames | None = None) -> Figure:
    """The embedding seen in 2-D (its first two principal axes), coloured by segment (``names``:
    carried names and colours, :mod:`seglab.names`)."""
    rows = _sample_rows(len(coords), seed)
    points = _principal_plane(coords[rows])
    fig, ax = plt.subplots(figsize=(7, 6))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="#1f77b4", linewidths=0)
    else:
        shown = labels[rows]
        noise = shown == -1
        ax.scatter(points[noise, 0], points[noise, 1], s=2, color=NOISE_COLOUR, alpha=0.4,
                   linewidths=0, label="noise")
        for index, segment in enumerate(sorted(set(shown[~noise].tolist()))):
            members = shown == segment
            colour, name = _segment_style(names, segment, index)
            ax.scatter(points[members, 0], points[members, 1], s=2, alpha=0.6, linewidths=0,
                       color=colour, label=literal(name))
        ax.legend(markerscale=5, fontsize=7, loc="best", ncol=2)
    ax.set(title=literal(title), xlabel="embedding axis 1", ylabel="embedding axis 2", xticks=[],
           yticks=[])
    return fig


def _segment_style(names: SegmentNames | None, segment: int, index: int) -> tuple[Any, str]:
    """A segment's colour and legend name: carried ones when ``names`` holds it, else the
    palette's ``index``-th colour and ``segment <label>``."""
    if names and segment in names:
        return names[segment]["colour"], names[segment]["name"]
    return plt.get_cmap("tab20")(index % 20), f"segment {segment}"


def silhouette(values: np.ndarray, labels: np.ndarray, *, mean: float,
               names: SegmentNames | None = None) -> Figure:
    """Classic silhouette plot: per-point values sorted within each segment (``names``: as in
    :func:`embedding_map`)."""
    fig, ax = plt.subplots(figsize=(7, 5))
    bottom = 0
    for index, segment in enumerate(sorted(set(labels.tolist()))):
        members = np.sort(values[labels == segment])
        ax.fill_betweenx(np.arange(bottom, bottom + len(members)), 0, members,
                         color=_segment_style(names, segment, index)[0], alpha=0.8)
        ax.text(-0.05, bottom + len(members) / 2, str(segment), fontsize=7, ha="right", va="center")
        bottom += len(members) + 10
    ax.axvline(mean, color="#d62728", ls="--", lw=1, label=f"mean {mean:.3f}")
    ax.set(xlabel="silhouette value", ylabel="customers (sample), by segment", yticks=[],
           title="Silhouette per segment (noise excluded)")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def segment_profiles(profiles: pd.DataFrame, sizes: pd.Series,
                     names: SegmentNames | None = None) -> Figure:
    """Heatmap of standardised differences from the customer base, one row per segment
    (``names``: as in :func:`embedding_map`, each row named and its label coloured)."""
    height = 1.2 + 0.35 * max(len(profiles), 1)
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(profiles.columns) + 2), height))
    limit = max(1.0, float(np.nanmax(np.abs(profiles.to_numpy()))) if profiles.size else 1.0)
    image = ax.imshow(profiles.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(len(profiles.columns)), [literal(name) for name in profiles.columns],
                  rotation=60, ha="right", fontsize=7)
    styles = [_segment_style(names, s, index) for index, s in enumerate(profiles.index)]
    ax.set_yticks(range(len(profiles)),
                  [f"{literal(name)} ({sizes.get(s, 0):.0%})"
                   for (_, name), s in zip(styles, profiles.index, strict=True)], fontsize=8)
    if names:
        for tick, (colour, _) in zip(ax.get_yticklabels(), styles, strict=True):
            tick.set_color(colour)
    fig.colorbar(image, ax=ax, label="difference from all customers (standard deviations)")
    ax.set_title("Segment profiles")
    return fig


def pca_variance(table: pd.DataFrame, *, marks: Sequence[float] = (0.8, 0.9)) -> Figure:
    """Cumulative explained variance of PCA, with the components needed for each mark."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(table["component"], table["cumulative"], marker="o", ms=3)
    for mark in marks:
        needed = components_needed(table, mark)
        ax.axhline(mark, color="#7f7f7f", ls=":", lw=1)
        label = f"{needed} components" if needed else f"more than {len(table)} components"
        ax.annotate(f"{mark:.0%}: {label}", (needed or len(table), mark), fontsize=8,
                    xytext=(5, -12) if needed else (-150, -12), textcoords="offset points")
    ax.set(xlabel="components", ylabel="cumulative explained variance", ylim=(0, 1.02),
           title="PCA on the standardised input columns")
    return fig


def correlation(frame: pd.DataFrame) -> Figure:
    """Spearman correlation heatmap of the given columns."""
    rho = frame.corr(method="spearman").fillna(0.0)
    fig, ax = plt.subplots(figsize=(1 + 0.35 * len(rho), 0.8 + 0.35 * len(rho)))
    image = ax.imshow(rho.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    names = [literal(name) for name in rho.columns]
    ax.set_xticks(range(len(rho)), names, rotation=70, ha="right", fontsize=7)
    ax.set_yticks(range(len(rho)), names, fontsize=7)
    fig.colorbar(image, ax=ax, label="Spearman rho")
    ax.set_title("Correlation between numeric columns")
    return fig


def distributions(frame: pd.DataFrame, *, columns_per_row: int = 4) -> Figure:
    """Histograms of the given columns (log-scaled counts: heavy tails stay visible)."""
    n_rows = -(-len(frame.columns) // columns_per_row)
    fig, axes = plt.subplots(n_rows, columns_per_row, figsize=(3 * columns_per_row, 2.2 * n_rows),
                             squeeze=False)
    for ax, column in zip(axes.flat, frame.columns, strict=False):
        ax.hist(frame[column].to_numpy(), bins=50, color="#1f77b4", log=True)
        ax.set_title(literal(column), fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes.flat[len(frame.columns):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def hierarchy(segments: np.ndarray, groups: np.ndarray,
              names: SegmentNames | None = None) -> Figure:
    """Groups and the segments inside them as an icicle: widths are shares of all customers,
    segment colours are the map's (``names``: as in :func:`embedding_map`); noise left out."""
    clustered = segments >= 0
    total = len(segments)
    fig, ax = plt.subplots(figsize=(9, 2.8))
    order = {segment: index for index, segment in enumerate(np.unique(segments[clustered]))}
    left = 0.0
    for group in np.unique(groups[clustered]):
        members = clustered & (groups == group)
        width = members.sum() / total
        ax.barh(1, width, left=left, height=0.9, color="#d0d7de", edgecolor="white")
        ax.text(left + width / 2, 1, f"group {group}\n{width:.0%}", ha="center", va="center",
                fontsize=8)
        inner = left
        for segment, count in zip(*np.unique(segments[members], return_counts=True), strict=True):
            share = count / total
            colour = _segment_style(names, int(segment), order[segment])[0]
            ax.barh(0, share, left=inner, height=0.9, color=colour, edgecolor="white")
            if share > 0.025:
                ax.text(inner + share / 2, 0, str(segment), ha="center", va="center", fontsize=8)
            inner += share
        left += width
    ax.set(xlim=(0, max(left, 1e-9)), yticks=[0, 1], yticklabels=["segments", "groups"],
           xlabel="share of all customers (noise left out)",
           title="Groups and the segments inside them")
    ax.spines[["top", "right", "left"]].set_visible(False)
    return fig


def literal(text: object) -> str:
    """``text`` escaped for matplotlib: each ``$`` drawn as a dollar sign, never opening mathtext."""
    return str(text).replace("$", r"\$")


def _sample_rows(n_rows: int, seed: int) -> np.ndarray:
    if n_rows <= MAX_POINTS:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, MAX_POINTS, replace=False))


def _principal_plane(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=0)
    if centred.shape[1] <= 2:  # one feature left (reduce.method: none): a flat second axis
        return np.pad(centred, ((0, 0), (0, 2 - centred.shape[1])))
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    return centred @ axes[:2].T
