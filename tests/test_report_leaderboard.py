"""``seglab runs --format html``: rows from the real store, report links, the trade-off scatter."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from seglab.config import TrackingConfig
from seglab.leaderboard_html import HEIGHT, MARGIN, WIDTH, render_leaderboard, report_link, scatter
from seglab.tracking import leaderboard, open_tracker


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Two tracked trials; only the first one's run folder holds a report."""
    tracker = open_tracker(TrackingConfig(backend="local"), store_dir=tmp_path)
    for trial, metrics in (("good", {"silhouette": 0.7, "noise_fraction": 0.05}),
                           ("noisy", {"silhouette": 0.4, "noise_fraction": 0.30})):
        run_dir = tmp_path / trial
        run_dir.mkdir()
        with tracker.start_run("exp", trial, params={"cluster": {"eps": 0.3}},
                               run_dir=run_dir) as run:
            run.log_metrics(metrics)
    (tmp_path / "good" / "report.html").write_text("<html></html>")
    tracker.close()
    return tmp_path


def test_rows_link_to_existing_reports_only(store: Path) -> None:
    html = render_leaderboard(leaderboard(store))
    assert html.count('class="report-link"') == 1
    assert f'href="{(store / "good" / "report.html").resolve().as_uri()}"' in html
    assert html.count('class="point') == 2
    assert "<script>" in html and "http" not in html.replace("http-equiv", "")


def test_scatter_places_better_trials_up_and_left(store: Path) -> None:
    board = leaderboard(store)
    plotted = {point.trial: point for point in scatter(board, [None] * len(board))["points"]}
    good, noisy = plotted["good"], plotted["noisy"]
    assert good.y < noisy.y, "higher silhouette is drawn higher (smaller SVG y)"
    assert good.x < noisy.x, "less noise is drawn further left"
    for point in plotted.values():
        assert MARGIN <= point.x <= WIDTH and 0 <= point.y <= HEIGHT - MARGIN


def test_scatter_needs_both_scores() -> None:
    frame = pd.DataFrame({"trial": ["a"], "status": ["failed"], "metrics.silhouette": [None],
                          "metrics.noise_fraction": [None]})
    assert scatter(frame, [None]) is None
    assert scatter(frame.drop(columns="metrics.silhouette"), [None]) is None


def test_report_link_without_a_folder(tmp_path: Path) -> None:
    assert report_link(None) is None
    assert report_link(str(tmp_path / "missing")) is None
