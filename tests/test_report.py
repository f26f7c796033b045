"""report.html from a hand-made run folder: cards, map, stability, methods appendix, no external loads.

``fake_run`` builds a complete small run folder in a second (three blobs and noise, one-hot
``channel`` columns, real figures, stability from the real stage); test_browser.py reuses it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from seglab import plots, profiles, stages
from seglab.artifacts import PROFILE_STATS
from seglab.config import load_config, save_config
from seglab.density_settings import DensitySettings
from seglab.names import segment_colour
from seglab.paths import resolve
from seglab.report import build_report, read_segments, report_context
from seglab.runfolder import RunFolder

matplotlib.use("Agg")

SEGMENT_SIZES = (300, 200, 100)
NOISE_ROWS = 20
EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", re.IGNORECASE)


def fake_run(path: Path) -> RunFolder:
    """A completed run folder with every file the report reads."""
    folder = RunFolder(path).create()
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    labels = np.concatenate([np.full(n, s) for s, n in enumerate(SEGMENT_SIZES)]
                            + [np.full(NOISE_ROWS, -1)])
    coords = np.concatenate([rng.normal(c, 0.4, (n, 2)) for c, n in zip(centres, SEGMENT_SIZES,
                                                                         strict=True)]
                            + [rng.uniform(-3, 9, (NOISE_ROWS, 2))]).astype(np.float32)
    n_rows = len(labels)
    spend = np.where(labels == 0, 300.0, 100.0) + rng.normal(0, 10, n_rows)
    web = np.where(labels == 1, 1.0, rng.random(n_rows) < 0.2)
    table = pd.DataFrame({
        "spend_total": spend, "tenure_days": rng.uniform(100, 400, n_rows),
        "channel=web": web, "channel=store": 1.0 - web,
    }).astype(np.float32)

    config = load_config(resolve("params/tiny.yaml"), sections={"report": {"stability_draws": 3},
                                                                "cluster": {"algorithm": "dbscan"}})
    save_config(config, folder.params)
    ids = [f"C{i:05d}" for i in range(n_rows)]
    pd.DataFrame({"customer_id": ids}).to_parquet(stages.CUSTOMERS.path(folder))
    groups = np.array([-1, 0, 1, 1])[labels + 1]  # segment 0 alone, segments 1 and 2 together
    pd.DataFrame({"customer_id": ids, "cluster": labels, "group": groups}).to_parquet(folder.labels)
    table.to_parquet(stages.PROFILE_TABLE.path(folder))
    folder.write_json(stages.CATEGORICAL.path(folder), {"channel": ["channel=web", "channel=store"]})
    stages.EMBEDDING.write(folder, coords)
    stages.FIT_INDEX.write(folder, np.arange(n_rows))  # UMAP fitted on every row
    stages.CLUSTER_SETTINGS.write(folder, DensitySettings(
        eps=0.5, min_samples=10, min_cluster_size=10, n_clusters=None, seed=0, source="knee",
        knee_eps=0.5, eps_low=0.45, eps_high=0.6, curve_min_samples=10).to_dict())
    folder.write_json(stages.BASELINES.path(folder), {"rows": [
        {"algorithm": "dbscan", "n_clusters": 3, "silhouette": 0.81234567, "ari": None},
        {"algorithm": "kmeans", "n_clusters": 3, "silhouette": 0.7, "ari": None}]})
    folder.write_json(folder.manifest, {
        "run_id": folder.run_id, "status": "completed", "backend": {"name": "cpu", "reason": "requested"},
        "device": "CPU x86_64 (2 cores)", "data_fingerprint": "sha256:feedface",
        "data_path": "tests/data/tiny_customers.parquet", "git": {"commit": "abc123", "dirty": False},
        "python": "3.11.7", "packages": {"numpy": "2.4.6", "umap-learn": "0.5.12"}, "warnings": [],
    })
    folder.record_metrics(n_rows=n_rows, n_clusters=3, noise_fraction=NOISE_ROWS / n_rows,
                          largest_cluster_fraction=SEGMENT_SIZES[0] / n_rows, silhouette=0.8,
                          backend="cpu", seconds_reduce=1.5)
    folder.save_figure(plots.embedding_map(coords, labels, title="segments"), "embedding_clusters")
    folder.save_figure(plots.hierarchy(labels, groups), "hierarchy")
    curve = np.sort(rng.gamma(2.0, 0.2, 400))
    folder.save_figure(plots.k_distance(curve, np.linspace(0, 1, 400), k=10, eps=0.5, eps_low=0.45,
                                        eps_high=0.6, knee_position=0.9), "k_distance")
    matplotlib.pyplot.close("all")
    stages.assess_stability(folder, config)
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunFolder:
    folder = fake_run(tmp_path_factory.mktemp("runs") / "20260101T000000Z-abcdef")
    build_report(folder)
    return folder


def test_groups_list_their_segments_beside_the_hierarchy(run: RunFolder, tmp_path: Path) -> None:
    html = run.report.read_text()
    assert html.count('class="group-card"') == 2 and 'id="hierarchy"' in html
    second = html[html.index('data-group="1"'):]
    second = second[:second.index("</article>")]
    assert "Segment 1" in second and "Segment 2" in second and "Segment 0" not in second
    assert f"{(SEGMENT_SIZES[1] + SEGMENT_SIZES[2]) / sum((*SEGMENT_SIZES, NOISE_ROWS)):.0%}" in second
    flat = RunFolder(tmp_path / "flat")
    shutil.copytree(run.path, flat.path)
    labels = pd.read_parquet(flat.labels).drop(columns="group")
    flat.labels.chmod(0o644)
    labels.to_parquet(flat.labels)
    assert 'id="groups"' not in build_report(flat)


def test_one_card_per_segment_with_summary_lift_and_mix(run: RunFolder) -> None:
    html = run.report.read_text()
    assert html.count('class="segment-card"') == len(SEGMENT_SIZES)
    assert "300 customers (48%): spend total 1.5x the average" in html
    assert "mostly web (channel)" in html  # segment 1 is all web
    context = report_context(run)
    first = context["cards"][0]["card"]
    n_rows = sum(SEGMENT_SIZES) + NOISE_ROWS
    population_spend = (300 * SEGMENT_SIZES[0] + 100 * (n_rows - SEGMENT_SIZES[0])) / n_rows
    assert first.traits[0].column == "spend_total"
    assert first.traits[0].lift == pytest.approx(300 / population_spend, rel=0.03)
    assert first.traits[0].z > 1
    assert [m.column for m in first.mix] == ["channel"]


def test_stability_is_read_from_the_stage_output(run: RunFolder) -> None:
    saved = json.loads(stages.STABILITY.path(run).read_text())
    assert saved["draws"] == 3 and len(saved["scores"]) == 3
    assert saved["mean"] >= 0.8, "three well-separated blobs are stable"
    assert run.read_metrics()["stability_ari"] == pytest.approx(saved["mean"])
    html = run.report.read_text()
    assert 'id="stability"' in html and f"{saved['mean']:.2f}" in html


def test_map_and_methods_appendix(run: RunFolder) -> None:
    html = run.report.read_text()
    assert 'id="segment-map"' in html and 'src="data:image/png;base64,' in html
    methods = html[html.index('id="methods"'):]
    for fact in ('id="k-distance"', "sha256:feedface", "umap-learn", "0.5.12", "abc123",
                 "stable band 0.45", "min_samples", "cpu (requested)"):
        assert fact in methods, fact


def test_self_contained(run: RunFolder) -> None:
    html = run.report.read_text()
    assert not EXTERNAL.search(html), "the report must not load anything from outside the page"
    assert "Content-Security-Policy" in html


def test_card_colours_match_the_map() -> None:
    assert segment_colour(0) == "#1f77b4"  # tab20's first colour, as in plots.embedding_map
    assert segment_colour(-1) == "#b0b0b0"


def test_report_of_a_run_that_failed_before_clustering(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "failed").create()
    folder.write_json(folder.manifest, {"status": "failed"})
    html = build_report(folder)
    assert "No segments to show" in html and "Not measured" in html


def test_the_verdict_opens_the_page_and_the_candidates_close_it(tmp_path: Path) -> None:
    """A model-selection run: the plain-words verdict comes before the numbers, the null's
    score beside it, and every candidate in the methods appendix with the chosen one marked."""
    folder = fake_run(tmp_path / "20260101T000000Z-auto01")
    sentence = "No density-separated groups; these 3 segments come from KMeans."
    folder.write_json(stages.SELECTION.path(folder), {
        "selected": "kmeans k=3 by=silhouette", "rule": "no admissible density clustering",
        "sample_size": 450, "verdict": {
            "level": "none", "reasons": ["unstable across subsamples (ARI 0.41)"],
            "sentence": sentence, "score": 0.31, "restated": [],
            "null": {"coverage_silhouette": 0.29, "silhouette_features": 0.1, "n_clusters": 2,
                     "selected": "kmeans k=2", "sample_size": 200}}})
    pd.DataFrame({"candidate": ["dbscan (eps=0.5, min_samples=10)", "kmeans (k=3, by=silhouette)"],
                  "n_clusters": [1, 3], "noise_fraction": [0.02, 0.0],
                  "largest_fraction": [0.98, 0.4], "coverage_silhouette": [None, 0.31],
                  "silhouette_features": [None, 0.12], "dbcv": [None, 0.2],
                  "stability": [None, 0.41], "admissible": [False, False],
                  "chosen": [False, True]}).to_parquet(stages.CANDIDATES.path(folder))
    folder.record_metrics(verdict="none")
    html = build_report(folder)
    assert html.index('id="verdict"') < html.index('class="numbers"')
    assert "Verdict: none.</b> " + sentence in html
    assert "unstable across subsamples (ARI 0.41)" in html
    assert "scores 0.29; these segments score 0.31" in html
    assert html.count('<tr class="chosen">') == 1 and "kmeans (k=3, by=silhouette)" in html
    assert "the model selection chose <code>kmeans k=3 by=silhouette</code>" in html


def test_stage_05_reads_the_profile_table_once(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The figure and the cards share one read of the table and one grouped pass."""
    folder = fake_run(tmp_path / "20260101T000000Z-once01")
    table_path = stages.PROFILE_TABLE.path(folder)
    folder.write_json(PROFILE_STATS.path(folder),
                      profiles.population_stats(pd.read_parquet(table_path)).to_dict())
    reads, grouped = [], []

    def counted(read: Any) -> Any:
        return lambda path, *args, **kwargs: (reads.append(Path(path)),
                                              read(path, *args, **kwargs))[1]

    monkeypatch.setattr(pd, "read_parquet", counted(pd.read_parquet))
    monkeypatch.setattr(pq, "read_table", counted(pq.read_table))
    segment_profiles = profiles.segment_profiles
    monkeypatch.setattr(profiles, "segment_profiles", lambda *args: (
        grouped.append(args), segment_profiles(*args))[1])
    config = load_config(folder.params)
    reporting = stages.write_report(folder, config)
    assert reads.count(table_path) == 1 and len(grouped) == 1
    assert (folder.figures / "segment_profiles.png").exists()
    assert reporting.html.count('class="segment-card"') == len(SEGMENT_SIZES)
    assert reporting.html == build_report(folder), "the same page as `seglab report` rebuilds"


def test_the_report_uses_the_cached_population_statistics(tmp_path: Path) -> None:
    folder = fake_run(tmp_path / "20260101T000000Z-stats1")
    table = pd.read_parquet(stages.PROFILE_TABLE.path(folder))
    computed = report_context(folder)["cards"]  # no profile_stats.json: an older run
    stats = profiles.population_stats(table)
    folder.write_json(PROFILE_STATS.path(folder), stats.to_dict())
    cached = report_context(folder, read_segments(folder))["cards"]
    assert [item["card"] for item in cached] == [item["card"] for item in computed]
    shifted = profiles.PopulationStats(stats.columns, stats.mean * 2, stats.std, stats.minimum)
    folder.write_json(PROFILE_STATS.path(folder), shifted.to_dict())
    first = report_context(folder)["cards"][0]["card"]
    (spend,) = [trait for trait in first.traits if trait.column == "spend_total"]
    assert spend.population_mean == pytest.approx(2 * stats.mean[stats.columns.index("spend_total")])


HOSTILE_NAMES = ["cost in $\\frac{a}{$", "$x$ and $y$", "price \\$ $", "<b>=1</b>"]


def test_column_names_with_dollars_are_drawn_as_written_never_as_mathtext() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(50, len(HOSTILE_NAMES))), columns=HOSTILE_NAMES)
    sizes = pd.Series({0: 0.6, 1: 0.4})
    figures = [plots.distributions(frame), plots.correlation(frame),
               plots.segment_profiles(frame.head(2), sizes),
               plots.embedding_map(frame.to_numpy(), None, title=HOSTILE_NAMES[0])]
    for figure in figures:
        figure.canvas.draw()  # mathtext parses here: $\frac{a}{$ raised ParseSyntaxException
    shown = {text._preprocess_math(text.get_text())  # (what is drawn, whether as mathtext)
             for figure in figures for text in figure.findobj(matplotlib.text.Text)}
    assert {(name, False) for name in HOSTILE_NAMES} <= shown
    matplotlib.pyplot.close("all")
