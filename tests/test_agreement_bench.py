"""bench/agreement.py: the tree's DBSCAN cut against the `dbscan` package, on small fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench.agreement import SUMMARY_BEGIN, SUMMARY_END, border_elsewhere, compare, write_summary
from sklearn.datasets import make_blobs


def _blobs_with_noise() -> np.ndarray:
    points, _ = make_blobs(4000, centers=6, n_features=2, cluster_std=0.5, random_state=7)
    rng = np.random.default_rng(7)
    noise = rng.uniform(points.min(axis=0), points.max(axis=0), size=(200, 2))
    return np.vstack([points, noise]).astype(np.float32)


def test_cut_agrees_with_exact_dbscan_on_2d_blobs() -> None:
    result = compare(_blobs_with_noise(), eps=0.3, min_samples=10)
    assert result["clusters_exact"] >= 4 and result["noise_exact"] > 0 and result["border"] > 0
    assert result["core_masks_equal"]
    assert result["core_errors_tree"] == result["core_errors_package"] == 0
    assert result["core_ari"] >= 0.99
    assert result["border_elsewhere"] <= 0.01 * result["border"]
    assert result["border_noise_mismatch"] == 0


def test_border_elsewhere_counts_border_points_in_another_matched_cluster() -> None:
    """The cut names clusters 0 and 1 the other way round; border point 6 went to the other one."""
    exact = np.array([0, 0, 0, 1, 1, 1, 0, -1])
    cut = np.array([1, 1, 1, 0, 0, 0, 0, -1])
    core = np.array([True, True, False, True, True, False, False, False])
    assert border_elsewhere(exact, cut, core) == 1
    assert border_elsewhere(exact, np.where(exact >= 0, 1 - exact, -1), core) == 0


def test_summary_block_is_replaced_and_the_prose_kept(tmp_path: Path) -> None:
    summary = tmp_path / "AGREEMENT.md"
    summary.write_text(f"# Title\n\n{SUMMARY_BEGIN}\nold\n{SUMMARY_END}\n\n## Reading\n\nprose\n")
    write_summary(summary, "new\n")
    text = summary.read_text()
    assert "old" not in text and "new" in text and text.endswith("## Reading\n\nprose\n")
