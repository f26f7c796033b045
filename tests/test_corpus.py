"""The real-table corpus (bench/corpus.py): builders and the helper that runs seglab on a table.

Infrastructure only: every builder writes a readable file with the declared columns, offline
(the suite's network guard is on) and deterministically. Quality floors on the corpus go
through :func:`run_on_corpus`, i.e. ``run_pipeline(..., engine="direct")`` on the written file:
the path users run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from bench.corpus import CORPUS, get, names
from bench.corpus_bench import summary_table, write_summary
from bench.yardsticks import feature_matrix, read_table, summarise, truth_codes
from corpus_support import available, run_on_corpus

MAX_ROWS = 30_000  # the generated basket and CRM tables; the others stay under 10,000


def test_names_are_unique_and_formats_mixed() -> None:
    assert len(set(names())) == len(CORPUS)
    assert {table.fmt for table in CORPUS} == {"csv", "parquet"}
    assert {table.kind for table in CORPUS} == {"labelled", "unlabelled"}
    with pytest.raises(KeyError, match="digits"):
        get("no-such-table")


@pytest.mark.parametrize("name", names())
def test_builder_writes_a_readable_file_with_the_declared_columns(name: str, tmp_path: Path) -> None:
    table = available(get(name))
    path = table.write(tmp_path)
    assert path == tmp_path / table.filename and path.suffix == f".{table.fmt}"
    frame = read_table(path)
    assert 100 <= len(frame) <= MAX_ROWS
    assert frame[table.id_column].is_unique
    if table.label_column is None:
        assert table.kind == "unlabelled"
    else:
        assert table.kind == "labelled"
        assert frame[table.label_column].nunique() >= 2
    assert len(feature_matrix(frame, table.id_column, table.label_column)[0]) >= 2
    features = frame.drop(columns=[c for c in (table.id_column, table.label_column) if c])
    table.structure.columns(features)  # the yardsticks' declared structure matches the table
    overrides = table.overrides(path)
    assert f"data.id_column={table.id_column}" in overrides
    assert f"data.label_column={table.label_column or 'null'}" in overrides
    assert len(overrides) == 3 and all(o.startswith("data.") for o in overrides)  # no per-table hint


@pytest.mark.parametrize("name", names())
def test_builder_is_deterministic(name: str, tmp_path: Path) -> None:
    table = available(get(name))
    first = read_table(table.write(tmp_path / "a"))
    second = read_table(table.write(tmp_path / "b"))
    pd.testing.assert_frame_equal(first, second)


def test_yardstick_features_impute_encode_and_standardise() -> None:
    frame = pd.DataFrame({"id": [1, 2, 3, 4], "x": [1.0, None, 3.0, 5.0], "total": ["1.5", " ", "2", "4"],
                          "plan": ["a", "b", None, "a"], "label": ["p", "q", "p", "q"]})
    X = feature_matrix(frame, "id", "label")
    assert X.shape == (4, 4)  # x, total, plan=a, plan=b
    assert abs(X[:, 0].mean()) < 1e-12 and X[:, 2:].sum() == 4
    truth = truth_codes(frame, "label")
    scores = summarise([0, 1, 0, -1], X, truth)
    assert scores["n_clusters"] == 2 and scores["noise_fraction"] == 0.25
    assert scores["largest_cluster_fraction"] == 0.5 and scores["ari"] is not None


def test_summary_table_lists_failures() -> None:
    results = {"tables": [{"name": "t", "kind": "unlabelled", "rows": 10, "columns": 3, "label_column": None,
                           "seglab": {"status": "failed", "error": "IndexError: boom", "seconds_wall": 1.0},
                           "yardsticks": {"yardsticks": {}}}]}
    text = summary_table(results)
    assert "**failed**" in text and "IndexError: boom" in text


def test_write_summary_replaces_only_its_own_section(tmp_path: Path) -> None:
    path = tmp_path / "CORPUS.md"
    path.write_text("# intro\n")
    results = {"tables": [], "finished_at": "t", "command": "c", "total_seconds": 1.0,
               "load_average_before": [0.1]}
    write_summary(path, results, "before", "Before (code at abc)")
    write_summary(path, results, "latest", "Latest (code at def)")
    write_summary(path, {**results, "total_seconds": 2.0}, "before", "Before (code at abc)")
    text = path.read_text()
    assert text.startswith("# intro") and text.count("## Before") == 1 and text.count("## Latest") == 1
    assert "2 s for the whole corpus" in text and text.index("## Before") < text.index("## Latest")


def test_run_on_corpus_records_a_failure_instead_of_raising(tmp_path: Path) -> None:
    result = run_on_corpus("iris", tmp_path, overrides=["cluster.eps=-1"])
    assert result["status"] == "failed"
    assert "cluster.eps" in result["error"]
    assert result["seconds_wall"] >= 0


@pytest.mark.slow
def test_run_on_corpus_returns_metrics_and_status(corpus_run: Callable[..., dict[str, Any]]) -> None:
    result = corpus_run("small_table")
    assert result["status"] in {"completed", "failed"}
    if result["status"] == "completed":
        assert result["n_rows"] == 300 and result["error"] is None
    else:
        assert result["error"]
