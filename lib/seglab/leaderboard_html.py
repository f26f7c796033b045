"""``seglab runs --format html``: a sortable leaderboard with a scatter of the trade-offs.

One self-contained page (inline CSS, JS and SVG; no external loads): the trials table, sortable
by clicking a header (or by opening the page with ``#sort=<column>`` / ``#sort=-<column>``), and
silhouette against noise fraction, each point and each row linking to the trial's ``report.html``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seglab.templating import render
from seglab.tracking.leaderboard import table_columns

X_METRIC = "metrics.noise_fraction"
Y_METRIC = "metrics.silhouette"
WIDTH, HEIGHT, MARGIN = 560, 340, 48
"""Scatter size in SVG pixels, and the room left for the axes."""


@dataclass(frozen=True)
class Point:
    """One trial on the scatter, in SVG coordinates."""

    trial: str
    x: float
    y: float
    label: str
    href: str | None
    status: str


@dataclass(frozen=True)
class Tick:
    """One axis tick: its SVG position and text."""

    position: float
    text: str


def render_leaderboard(frame: pd.DataFrame, title: str = "seglab leaderboard") -> str:
    """The leaderboard page for ``frame`` (rows of :func:`seglab.tracking.leaderboard.leaderboard`)."""
    columns = [column for column in table_columns(frame) if column in frame.columns]
    links = [report_link(run_dir) for run_dir in frame.get("run_dir", [None] * len(frame))]
    rows = [
        {"cells": [_cell(row[column]) for column in columns], "href": href}
        for (_, row), href in zip(frame.iterrows(), links, strict=True)
    ]
    return render(
        "leaderboard.html.j2",
        title=title,
        headers=[column.split(".", 1)[-1] for column in columns],
        rows=rows,
        scatter=scatter(frame, links),
        width=WIDTH,
        height=HEIGHT,
        margin=MARGIN,
    )


def report_link(run_dir: Any) -> str | None:
    """``file://`` URI of a trial's ``report.html``, or ``None`` when it has none."""
    if not isinstance(run_dir, str) or not run_dir:
        return None
    report = Path(run_dir).expanduser().resolve() / "report.html"
    return report.as_uri() if report.exists() else None


def scatter(frame: pd.DataFrame, links: list[str | None]) -> dict[str, Any] | None:
    """Points and axis ticks for silhouette against noise fraction (``None`` without data)."""
    if X_METRIC not in frame or Y_METRIC not in frame:
        return None
    x = pd.to_numeric(frame[X_METRIC], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(frame[Y_METRIC], errors="coerce").to_numpy(dtype=float)
    known = np.isfinite(x) & np.isfinite(y)
    if not known.any():
        return None
    x_range, y_range = _range(x[known], floor=0.0), _range(y[known])
    percent = "{:.1%}" if x_range[1] - x_range[0] < 0.1 else "{:.0%}"
    points = [
        Point(str(trial), _to_svg(xv, x_range, MARGIN, WIDTH - MARGIN / 2),
              _to_svg(yv, y_range, HEIGHT - MARGIN, MARGIN / 2),
              f"{trial}: silhouette {yv:.3f}, noise {xv:.1%}", href, str(status))
        for trial, xv, yv, href, status, ok in zip(
            frame["trial"], x, y, links, frame["status"], known, strict=True)
        if ok
    ]
    return {
        "points": points,
        "x_ticks": [Tick(_to_svg(v, x_range, MARGIN, WIDTH - MARGIN / 2), percent.format(v))
                    for v in np.linspace(*x_range, 5)],
        "y_ticks": [Tick(_to_svg(v, y_range, HEIGHT - MARGIN, MARGIN / 2), f"{v:.2f}")
                    for v in np.linspace(*y_range, 5)],
        "missing": int((~known).sum()),
    }


def _range(values: np.ndarray, floor: float | None = None) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    pad = (high - low) * 0.08 or max(abs(high) * 0.1, 0.01)
    low, high = low - pad, high + pad
    return (max(low, floor) if floor is not None else low), high


def _to_svg(value: float, span: tuple[float, float], start: float, end: float) -> float:
    low, high = span
    return round(start + (value - low) / (high - low) * (end - start), 1)


def _cell(value: Any) -> dict[str, Any]:
    """Text shown and the value sorted on (numbers sort as numbers, empty cells last)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return {"text": "", "sort": ""}
    if isinstance(value, pd.Timestamp):
        return {"text": value.strftime("%Y-%m-%d %H:%M:%S"), "sort": value.isoformat()}
    if isinstance(value, bool | np.bool_):
        return {"text": str(value), "sort": str(value)}
    if isinstance(value, int | float | np.integer | np.floating):
        return {"text": f"{value:.4g}", "sort": repr(float(value))}
    return {"text": str(value), "sort": str(value)}
