"""bench.umap_frontier without seglab runs: the grid, its overrides and the rendering."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import umap_frontier
from bench.corpus import CorpusTable, get
from bench.umap_frontier import render, run_frontier, setting_overrides, settings, write_summary

from seglab.config import load_config


def test_fit_samples_only_below_the_rows_and_the_default_always():
    small = settings(5_000, [None, 50], [50_000, 25_000, 15_000])
    assert [(s["n_epochs"], s["fit_sample"], s["fit_rows"]) for s in small] == [
        (None, 50_000, 5_000), (50, 50_000, 5_000)]
    large = settings(200_000, [None, 100, 50], [50_000, 25_000, 15_000])
    assert len(large) == 9 and large[0] == {"n_epochs": None, "fit_sample": 50_000,
                                            "fit_rows": 50_000}
    assert {s["fit_rows"] for s in settings(30_000, [None], [50_000, 25_000, 15_000])} == {
        30_000, 25_000, 15_000}


def test_overrides_are_valid_config():
    for setting in settings(200_000, [None, 100], [50_000, 15_000]):
        config = load_config(None, overrides=setting_overrides(setting, seed=3))
        assert config.reduce.n_epochs == setting["n_epochs"]
        assert config.reduce.fit_sample == setting["fit_sample"] and config.seed == 3


def _fake_run(table: CorpusTable, directory: Path, overrides: Sequence[str],
              params: Path) -> dict[str, Any]:
    """Fewer epochs: half the reduce seconds and ARI 0.01 lower."""
    cheap = "reduce.n_epochs=50" in overrides
    return {"status": "completed", "error": None, "seconds_wall": 1.0, "n_rows": 5_000,
            "seconds_reduce": 5.0 if cheap else 10.0, "seconds_total": 20.0,
            "trustworthiness": 0.99, "ari": 0.89 if cheap else 0.9, "n_clusters": 3,
            "verdict": "clear", "run_dir": str(directory)}


def test_grid_and_rendering_with_a_fake_run(tmp_path, monkeypatch):
    monkeypatch.setattr(umap_frontier, "WARMUP", (("small_table", ()),))
    saves: list[int] = []
    results = run_frontier([get("rfm_groups")], tmp_path, [0], [None, 50], [50_000, 15_000],
                           save=lambda r: saves.append(len(r["tables"])), run=_fake_run,
                           log=lambda _line: None)
    runs = results["tables"]["rfm_groups"]["runs"]
    assert [(r["n_epochs"], r["fit_rows"]) for r in runs] == [(None, 4_000), (50, 4_000)]
    assert len(saves) == 3 and results["finished_at"]
    block = render(results)
    assert "| rfm_groups | 4,000 | auto (500) | 4,000 | 0 | 10.0 |" in block
    assert "| 50 | 4,000 | 0 | 5.0 | 20.0 | 0.990 | 0.890 | -0.010 | 3 | clear |" in block
    page = tmp_path / "UMAP.md"
    page.write_text("# Title\n\nProse kept.\n")
    write_summary(page, block, "latest")
    write_summary(page, block, "latest")
    text = page.read_text()
    assert text.count("umap-frontier:latest:begin") == 1 and "Prose kept." in text
