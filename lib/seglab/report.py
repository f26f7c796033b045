"""``report.html``: one self-contained page for a business reader, built from a run folder.

The page only reads the run folder's files (stages compute everything, including stability), so
``seglab report RUN`` is cheap. Images are inlined as data URIs, CSS is inline, and a
Content-Security-Policy forbids every external load, so the page opens the same offline.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import yaml

from seglab import profiles
from seglab.artifacts import (
    BASELINES,
    CANDIDATES,
    CANDIDATES_SHOWN,
    CATEGORICAL,
    CLUSTER_SETTINGS,
    PROFILE_STATS,
    PROFILE_TABLE,
    SEGMENT_NAMES,
    SELECTION,
    STABILITY,
    run_labels,
)
from seglab.names import default_names, names_from_json
from seglab.runfolder import RunFolder, atomic_write_text
from seglab.templating import render

MAP_FIGURE = "embedding_clusters"
HIERARCHY_FIGURE = "hierarchy"
METHOD_FIGURE = "k_distance"
MORE_FIGURES = {
    "segment_profiles": "How each segment differs from all customers (standard deviations).",
    "silhouette": "Silhouette per segment: how well customers sit in their own segment.",
}


@dataclass(frozen=True)
class ReportFigure:
    """A figure inlined as a data URI."""

    name: str
    caption: str
    data_uri: str


def build_report(folder: RunFolder, segments: profiles.SegmentProfiles | None = None) -> str:
    """Render the report for ``folder``, write ``report.html`` and return the HTML.

    ``segments``: the run's segment profiles when the caller has them already (05 does), else
    they are computed from the run folder's files (:func:`read_segments`).
    """
    html = render("report.html.j2", **report_context(folder, segments))
    atomic_write_text(folder.report, html)
    return html


def report_context(folder: RunFolder,
                   segments: profiles.SegmentProfiles | None = None) -> dict[str, Any]:
    """Everything the template shows, read from the run folder's files (``segments``: as in
    :func:`build_report`)."""
    metrics = folder.read_metrics()
    manifest = folder.read_json(folder.manifest)
    params = yaml.safe_load(folder.params.read_text()) if folder.params.exists() else {}
    report = params.get("report") or {}
    return {
        "title": report.get("title", "Customer segments"),
        "run_id": folder.run_id,
        "manifest": manifest,
        "metrics": metrics,
        "headline": headline(metrics),
        "selection": SELECTION.read_if_present(folder),
        "candidates": _candidates(folder),
        "cards": _cards(folder, segments, top=report.get("top_features", 5)),
        "groups": _groups(folder),
        "hierarchy": figure(folder, HIERARCHY_FIGURE, "Groups (top) and the segments inside them "
                                                      "(bottom), as shares of all customers."),
        "stability": STABILITY.read_if_present(folder),
        "eps": CLUSTER_SETTINGS.read_if_present(folder),
        "baselines": BASELINES.read_if_present(folder).get("rows", []),
        "params_yaml": yaml.safe_dump(params, sort_keys=False),
        "algorithm": (params.get("cluster") or {}).get("algorithm", "dbscan"),
        "timings": {key[len("seconds_"):]: value for key, value in metrics.items()
                    if key.startswith("seconds_") and value is not None},
        "map": figure(folder, MAP_FIGURE, "Customers in the embedding's first two principal axes, "
                                          "coloured by segment (grey: not in any segment)."),
        "k_distance": figure(folder, METHOD_FIGURE, "The sorted k-distance curve: eps sits at "
                                                    "its knee; the band is where the knee is "
                                                    "stable."),
        "figures": [shown for name, caption in MORE_FIGURES.items()
                    if (shown := figure(folder, name, caption)) is not None],
    }


def headline(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """The numbers at the top of the page, formatted (``n/a`` where missing)."""
    def fmt(key: str, pattern: str) -> str:
        value = metrics.get(key)
        return "n/a" if value is None else pattern.format(value)

    return [
        ("Verdict", fmt("verdict", "{}")),
        ("Customers", fmt("n_rows", "{:,}")),
        ("Segments found", fmt("n_clusters", "{}")),
        ("Not in any segment (noise)", fmt("noise_fraction", "{:.1%}")),
        ("Largest segment", fmt("largest_cluster_fraction", "{:.1%}")),
        ("Silhouette (noise excluded)", fmt("silhouette", "{:.3f}")),
        ("Stability (ARI, subsamples)", fmt("stability_ari", "{:.2f}")),
        ("Agreement with known segments (ARI)", fmt("ari", "{:.3f}")),
    ]


def _candidates(folder: RunFolder) -> list[dict[str, Any]]:
    """Every candidate of the model selection (empty for an explicit algorithm)."""
    if not CANDIDATES.exists(folder):
        return []
    frame = CANDIDATES.read(folder, columns=list(CANDIDATES_SHOWN))
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def figure(folder: RunFolder, name: str, caption: str) -> ReportFigure | None:
    """``figures/<name>.png`` as an inline figure, or ``None`` when the run has not drawn it."""
    path = folder.figures / f"{name}.png"
    if not path.exists():
        return None
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return ReportFigure(name, caption, f"data:image/png;base64,{encoded}")


def _groups(folder: RunFolder) -> list[dict[str, Any]]:
    """One entry per group (largest first): its share of customers and its segments with
    theirs; empty when the run has no groups."""
    if not folder.labels.exists():
        return []
    labels = pd.read_parquet(folder.labels)
    if "group" not in labels:
        return []
    total = len(labels)
    clustered = labels[labels["cluster"] >= 0]
    named = _names(folder, clustered["cluster"].unique())
    return [{"group": int(group), "share": len(members) / total,
             "segments": [{"segment": int(segment), "share": count / total, **named[int(segment)]}
                          for segment, count in members["cluster"].value_counts().items()]}
            for group, members in sorted(clustered.groupby("group"), key=lambda item: -len(item[1]))]


def _names(folder: RunFolder, segments: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each segment's name and colour: carried from an earlier run (``seglab run --previous``)
    where it survived, else the default."""
    carried = names_from_json(SEGMENT_NAMES.read_if_present(folder))
    return {**default_names(int(segment) for segment in segments), **carried}


def read_segments(folder: RunFolder) -> profiles.SegmentProfiles:
    """The run's segment profiles from its files: labels, profile table and its statistics, each
    read once (statistics computed here for runs from before ``profile_stats.json``)."""
    stats = PROFILE_STATS.read_if_present(folder)
    return profiles.segment_profiles(PROFILE_TABLE.read(folder), run_labels(folder),
                                     profiles.PopulationStats.from_dict(stats) if stats else None)


def _cards(folder: RunFolder, segments: profiles.SegmentProfiles | None, *,
           top: int) -> list[dict[str, Any]]:
    if segments is None:
        if not folder.labels.exists() or not PROFILE_TABLE.exists(folder):
            return []
        segments = read_segments(folder)
    categorical = CATEGORICAL.read_if_present(folder)  # {} for older runs
    cards = profiles.segment_cards(segments, top=top, categorical=categorical)
    named = _names(folder, (card.segment for card in cards))
    return [{"card": card, "name": named[card.segment]["name"],
             "colour": named[card.segment]["colour"]} for card in cards]
