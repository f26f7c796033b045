"""``report.html``: one self-contained page (inline images, no network) built from a run folder."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import jinja2
import pandas as pd
import yaml

from seglab import profiles
from seglab.runfolder import RunFolder
from seglab.stages import BASELINES, segment_profiles

FIGURE_CAPTIONS = {
    "embedding_clusters": "Customers in the embedding, coloured by segment (grey: noise).",
    "segment_profiles": "How each segment differs from all customers.",
    "k_distance": "How eps was chosen: the knee of the k-distance curve and the band where it is stable.",
    "silhouette": "Silhouette per segment (how well customers sit in their own segment).",
}


@dataclass(frozen=True)
class ReportFigure:
    name: str
    caption: str
    data_uri: str


def build_report(folder: RunFolder) -> str:
    """Render the report for ``folder``, write ``report.html`` and return the HTML."""
    context = report_context(folder)
    html = _environment().get_template("report.html.j2").render(**context)
    folder.report.write_text(html)
    return html


def report_context(folder: RunFolder) -> dict[str, Any]:
    """Everything the template shows, read from the run folder's files."""
    metrics = folder.read_metrics()
    manifest = folder.read_json(folder.manifest)
    params = yaml.safe_load(folder.params.read_text()) if folder.params.exists() else {}
    segments = _segments(folder, top=(params.get("report") or {}).get("top_features", 5))
    baselines = folder.read_json(folder.artifact(BASELINES)).get("rows", [])
    return {
        "title": (params.get("report") or {}).get("title", "Customer segments"),
        "run_id": folder.run_id,
        "manifest": manifest,
        "metrics": metrics,
        "headline": _headline(metrics),
        "segments": segments,
        "baselines": baselines,
        "params_yaml": yaml.safe_dump(params, sort_keys=False),
        "figures": _figures(folder),
    }


def _headline(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    def fmt(key: str, pattern: str) -> str:
        value = metrics.get(key)
        return "n/a" if value is None else pattern.format(value)

    return [
        ("Customers", fmt("n_rows", "{:,}")),
        ("Segments found", fmt("n_clusters", "{}")),
        ("Not in any segment (noise)", fmt("noise_fraction", "{:.1%}")),
        ("Largest segment", fmt("largest_cluster_fraction", "{:.1%}")),
        ("Silhouette (embedding, noise excluded)", fmt("silhouette", "{:.3f}")),
        ("Agreement with known segments (ARI)", fmt("ari", "{:.3f}")),
    ]


def _segments(folder: RunFolder, *, top: int) -> list[dict[str, Any]]:
    if not folder.labels.exists():
        return []
    labels = pd.read_parquet(folder.labels)["cluster"].to_numpy()
    sizes = profiles.segment_sizes(labels)
    gaps = segment_profiles(folder, labels)
    rows = []
    for segment, customers, share in sizes.itertuples(index=False):
        traits = []
        if segment in gaps.index:
            strongest = gaps.loc[segment].abs().sort_values(ascending=False).index[:top]
            traits = [(column, float(gaps.loc[segment, column])) for column in strongest]
        rows.append({"segment": int(segment), "customers": int(customers), "share": float(share),
                     "traits": traits})
    return rows


def _figures(folder: RunFolder) -> list[ReportFigure]:
    figures = []
    for name, caption in FIGURE_CAPTIONS.items():
        path = folder.figures / f"{name}.png"
        if path.exists():
            encoded = base64.b64encode(path.read_bytes()).decode("ascii")
            figures.append(ReportFigure(name, caption, f"data:image/png;base64,{encoded}"))
    return figures


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("seglab", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
