"""``compare.html`` and its figures: last week's segments against this week's, for a business
reader, from ``compare.json`` alone (:func:`seglab.weekly.compare_runs`).

The page is self-contained like ``report.html``: figures inlined as PNG data URIs, inline CSS,
a Content-Security-Policy that forbids every external load.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from seglab.compare import UNLIKE_ANY
from seglab.names import NOISE_COLOUR, NOISE_NAME
from seglab.plots import literal
from seglab.profiles import NOISE
from seglab.runfolder import atomic_write_text
from seglab.templating import render

GAP = 0.02
"""Vertical space between two blocks of the alluvial figure (share of the total height)."""
OTHER_NAMES = {NOISE: NOISE_NAME, UNLIKE_ANY: "Unlike any segment"}


def label_name(label: int, names: Mapping[str, Mapping[str, Any]]) -> str:
    """A label as the reader knows it (``names``: compare.json's names, keyed by text)."""
    return OTHER_NAMES.get(label) or str(names.get(str(label), {}).get("name", f"Segment {label}"))


def label_colour(label: int, names: Mapping[str, Mapping[str, Any]]) -> str:
    return str(names.get(str(label), {}).get("colour", NOISE_COLOUR))


def _blocks(sizes: pd.Series, total: float, rank: Mapping[int, int] | None = None) -> dict[int, float]:
    """Top of each label's block, noise at the bottom; by ``rank`` (default: largest on top)."""
    order = sorted(sizes.index, key=lambda label: (label < 0, (rank or {}).get(label, 0),
                                                    -sizes[label]))
    tops, top = {}, 1.0
    for label in order:
        tops[label] = top
        top -= sizes[label] / total + GAP
    return tops


def alluvial(result: Mapping[str, Any]) -> Figure:
    """A's segments (left) flowing into B's (right) over the compared customers, each band as
    wide as the customers it carries, coloured by A's segment."""
    flows = pd.DataFrame(result["migration"], columns=["a", "b", "customers", "share_of_a", "moved"])
    names_a, names_b = result["names_a"], result["names"]
    fig, ax = plt.subplots(figsize=(9, 6))
    if flows.empty:
        ax.text(0.5, 0.5, "no customers to compare", ha="center", va="center")
        ax.set_axis_off()
        return fig
    total = float(flows["customers"].sum())
    left_size, right_size = flows.groupby("a")["customers"].sum(), flows.groupby("b")["customers"].sum()
    left = _blocks(left_size, total)
    rank_a = {label: rank for rank, label in enumerate(left)}
    source = flows.sort_values("customers").groupby("b")["a"].last()  # each block's main source
    right = _blocks(right_size, total, {b: rank_a[a] for b, a in source.items()})
    left_used = dict.fromkeys(left, 0.0)
    right_used = dict.fromkeys(right, 0.0)
    t = np.linspace(0, 1, 60)
    ease = 3 * t**2 - 2 * t**3
    rank_b = {label: rank for rank, label in enumerate(right)}
    flows = flows.assign(ra=flows["a"].map(rank_a), rb=flows["b"].map(rank_b))
    for row in flows.sort_values(["ra", "rb"]).itertuples(index=False):
        height = row.customers / total
        y0 = left[row.a] - left_used[row.a]
        y1 = right[row.b] - right_used[row.b]
        left_used[row.a] += height
        right_used[row.b] += height
        top = y0 + (y1 - y0) * ease
        x = 0.1 + 0.8 * t
        ax.fill_between(x, top - height, top, color=label_colour(row.a, names_a), alpha=0.45, lw=0)
    for side, blocks, sizes, names, x in (("A", left, left_size, names_a, 0.1),
                                          ("B", right, right_size, names_b, 0.9)):
        for label, top in blocks.items():
            height = sizes[label] / total
            ax.add_patch(plt.Rectangle((x - 0.015, top - height), 0.03, height,
                                       color=label_colour(label, names), lw=0))
            ax.text(x + (-0.03 if side == "A" else 0.03), top - height / 2,
                    literal(f"{label_name(label, names)} ({sizes[label]:,})"),
                    ha="right" if side == "A" else "left", va="center", fontsize=8)
    ax.set(xlim=(-0.35, 1.35), title=f"Where {result['run_a']}'s segments went in {result['run_b']}")
    ax.set_axis_off()
    return fig


def migration_heatmap(result: Mapping[str, Any]) -> Figure:
    """Share of each of A's segments (rows) now in each of B's (columns)."""
    flows = pd.DataFrame(result["migration"], columns=["a", "b", "customers", "share_of_a", "moved"])
    fig, ax = plt.subplots(figsize=(8, 6))
    if flows.empty:
        ax.text(0.5, 0.5, "no customers to compare", ha="center", va="center")
        ax.set_axis_off()
        return fig
    shares = flows.pivot_table(index="a", columns="b", values="share_of_a", fill_value=0.0)
    shares = shares.loc[_noise_last(shares.index), _noise_last(shares.columns)]
    image = ax.imshow(shares.to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for (i, j), value in np.ndenumerate(shares.to_numpy()):
        if value >= 0.005:
            ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=7,
                    color="white" if value > 0.6 else "#1f2328")
    ax.set_xticks(range(shares.shape[1]),
                  [literal(label_name(b, result["names"])) for b in shares.columns],
                  rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(shares.shape[0]),
                  [literal(label_name(a, result["names_a"])) for a in shares.index], fontsize=8)
    ax.set(xlabel=f"segment in {result['run_b']}", ylabel=f"segment in {result['run_a']}",
           title="Share of each earlier segment now in each segment")
    fig.colorbar(image, ax=ax, fraction=0.04, label="share of the earlier segment")
    return fig


def _noise_last(labels: pd.Index) -> list[int]:
    return sorted(labels, key=lambda label: (label < 0, label))


def png(figure: Figure) -> bytes:
    """A figure as PNG bytes (and released from pyplot)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def transition_rows(result: Mapping[str, Any]) -> list[dict[str, str]]:
    """The transitions in words, one row each."""
    names_a, names_b = result["names_a"], result["names"]

    def side(labels: list[int], names: Mapping[str, Any], mostly: int | None, how: str) -> str:
        if labels:
            return ", ".join(label_name(label, names) for label in labels)
        return "–" if mostly is None else f"(mostly {how} {label_name(mostly, names)})"

    return [{"kind": step["kind"],
             "before": side(step["a"], names_a, step.get("mostly"), "from"),
             "after": side(step["b"], names_b, step.get("mostly"), "into"),
             "overlap": f"{step['overlap']:.0%}" if step["kind"] in ("survived", "split", "merged")
             else "–"}
            for step in result["transitions"]]


def compare_page(result: Mapping[str, Any], figures: Mapping[str, str]) -> str:
    """The HTML of ``compare.html`` (``figures``: name -> data URI)."""
    return render("compare.html.j2", result=result, figures=figures,
                  transitions=transition_rows(result),
                  drift=[{**entry, "before": ", ".join(label_name(a, result["names_a"]) for a in entry["a"]),
                          "after": ", ".join(label_name(b, result["names"]) for b in entry["b"])}
                         for entry in result["segment_drift"]])


def summary(result: Mapping[str, Any]) -> list[str]:
    """Plain-words sentences, the headline first: ``6 of 7 segments held; 'Segment 2' split in
    2; 4.2% of customers changed segment.``"""
    names_a, names_b = result["names_a"], result["names"]

    def quoted(labels: list[int], names: Mapping[str, Any]) -> str:
        return " and ".join(f"'{label_name(label, names)}'" for label in labels)

    events = []
    for step in result["transitions"]:
        before, after = quoted(step["a"], names_a), quoted(step["b"], names_b)
        mostly = step.get("mostly")
        events.append({
            "split": f"{before} split in {len(step['b'])} ({after})",
            "merged": f"{before} merged into {after}",
            "vanished": f"{before} vanished" + ("" if mostly is None else
                                               f" (mostly into {quoted([mostly], names_b)})"),
            "new": f"{after} is new" + ("" if mostly is None else
                                        f" (mostly from {quoted([mostly], names_a)})"),
        }.get(step["kind"], ""))
    held = f"{result['n_survived']} of {result['n_segments_a']} segments held"
    moved = f"{result['moved_share']:.1%} of customers changed segment"
    lines = ["; ".join([held, *filter(None, events), moved]) + "."]
    if result["assigned_with"]:
        lines.append(f"The runs share no customers: {result['run_b']}'s customers were placed in "
                     f"{result['run_a']}'s segments by its model, and matched on that.")
    else:
        lines.append(f"{result['shared_customers']:,} customers are in both runs; "
                     f"{result['new_customers']:,} are new and {result['lost_customers']:,} left.")
    shifted = [column for column, flag in result["psi_flags"].items() if flag == "shifted"]
    if result["drift_note"]:
        lines.append(f"Column drift not measured: {result['drift_note']}.")
    elif shifted:
        lines.append(f"{len(shifted)} input column(s) shifted (PSI at least "
                     f"{result['thresholds']['psi_alert']}): {', '.join(shifted)}.")
    else:
        lines.append("No input column shifted (every PSI below "
                     f"{result['thresholds']['psi_alert']}).")
    if any(result["layers"].values()):
        lines.append("Segments are compared at the finer layer; the coarser groups are not.")
    return lines


def write_comparison(out_dir: Path, result: Mapping[str, Any]) -> dict[str, Any]:
    """Write ``compare.json`` (the result with its :func:`summary`), the figures
    (``figures/alluvial.png``, ``figures/migration.png``) and ``compare.html`` into ``out_dir``.

    Returns:
        The result as written to ``compare.json``.
    """
    written = {**result, "summary": summary(result)}
    figures_dir = out_dir / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    figures = {}
    for name, draw in (("alluvial", alluvial), ("migration", migration_heatmap)):
        image = png(draw(written))
        (figures_dir / f"{name}.png").write_bytes(image)
        figures[name] = f"data:image/png;base64,{base64.b64encode(image).decode('ascii')}"
    atomic_write_text(out_dir / "compare.json", json.dumps(written, indent=2))
    atomic_write_text(out_dir / "compare.html", compare_page(written, figures))
    return written
