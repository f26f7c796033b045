"""seglab.Segmenter and `seglab assign`: a finished run places new customers as it placed its own.

One tiny run (params/tiny.yaml, direct engine) serves every test; the bad inputs each check the
one-line error, the non-zero exit and that nothing was written, neither the assignment folder
nor anything in the run read.
"""

import json
import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bench.generators import make_baskets, make_mixed_crm
from sklearn.metrics import adjusted_rand_score

import seglab
from seglab.cli import main
from seglab.config import load_config
from seglab.errors import SeglabError
from seglab.runner import run_pipeline

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "params" / "tiny.yaml"
TABLE = ROOT / "tests" / "data" / "tiny_customers.parquet"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("runs")
    config = load_config(TINY, overrides=["tracking.backend=local", "report.stability_draws=0",
                                          "reduce.n_epochs=60", "reduce.null_sample=300"])
    result = run_pipeline(config, runs_dir=runs, engine="direct", echo=lambda _: None)
    assert result.ok, result.message
    return result.folder.path


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_parquet(TABLE)


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def _shuffled(table: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The shuffled-columns null: every column but the id shuffled on its own."""
    rng = np.random.default_rng(seed)
    return table.assign(**{c: rng.permutation(table[c].to_numpy())
                           for c in table.columns if c != "customer_id"})


def test_own_table_reproduces_the_run_labels(run_dir, table):
    model = seglab.Segmenter.load(run_dir)
    run_labels = pd.read_parquet(run_dir / "labels.parquet")["cluster"].to_numpy()
    predicted = model.predict(table)
    assert adjusted_rand_score(run_labels, predicted) >= 0.98
    assert np.array_equal(model.labels_, run_labels)
    assert model.verdict_ in ("clear", "weak") and model.selected_
    assert model.embedding_.shape == (len(table), 3)
    run_groups = pd.read_parquet(run_dir / "labels.parquet").get("group")
    if run_groups is None:
        assert model.groups_ is None and model.predict_frame(table)["group"].isna().all()
    else:
        predicted = model.predict_frame(table)["group"].to_numpy(dtype=float, na_value=np.nan)
        assert np.mean(predicted == run_groups.to_numpy(dtype=float)) >= 0.98
    assert len(model.profiles_) == len(set(run_labels) - {-1})


def test_predict_frame_columns(run_dir, table):
    frame = seglab.Segmenter.load(run_dir).predict_frame(table.head(50))
    assert frame.index.name == "customer_id" and list(frame.index) == list(table["customer_id"][:50])
    assert list(frame.columns) == ["segment", "group", "confidence", "unlike_any"]
    assert frame["confidence"].between(0, 1).all() and frame["group"].dtype == "Int64"
    assert frame["unlike_any"].dtype == bool
    indexed = seglab.Segmenter.load(run_dir).predict_frame(
        table.head(5).drop(columns="customer_id").set_axis(list("abcde")))
    assert list(indexed.index) == list("abcde")


def test_shuffled_columns_null_is_unlike_any_segment(run_dir, table):
    model = seglab.Segmenter.load(run_dir)
    assert model.predict_frame(_shuffled(table, 3))["unlike_any"].mean() >= 0.9
    assert model.predict_frame(table)["unlike_any"].mean() <= 0.1


def test_transform_replays_the_run_features(run_dir, table):
    """The fitted numbers (de-quantisation noise included) give the run's own feature matrix."""
    model = seglab.Segmenter.load(run_dir)
    assert any(step.dequantized for step in model.transform.numeric)
    replayed = model.assign_chunk(table.sample(frac=1.0, random_state=0)).features
    stored = np.load(run_dir / "artifacts" / "features.npy")
    order = table.sample(frac=1.0, random_state=0).index
    np.testing.assert_allclose(replayed, stored[order], atol=2e-4)


def test_save_and_load_round_trip(run_dir, table, tmp_path):
    model = seglab.Segmenter.load(run_dir)
    saved = model.save(tmp_path / "model")
    assert not list(saved.glob("*.pkl")) and (saved / "checksums.json").is_file()
    again = seglab.Segmenter.load(saved)
    pd.testing.assert_frame_equal(again.predict_frame(table), model.predict_frame(table))
    pd.testing.assert_frame_equal(again.profiles_, model.profiles_)
    assert again.verdict_ == model.verdict_ and np.array_equal(again.labels_, model.labels_)
    (saved / "fit_features.npy").chmod(0o644)
    np.save(saved / "fit_features.npy", np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(SeglabError, match="checksum"):
        seglab.Segmenter.load(saved)


def test_assign_equals_predict_and_leaves_the_run_alone(run_dir, table, tmp_path, capsys):
    before = _snapshot(run_dir)
    out = tmp_path / "week2"
    new = tmp_path / "new.parquet"
    table.assign(extra_column=1.0).to_parquet(new, row_group_size=300)
    assert main(["assign", str(run_dir), "--data", str(new), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "'extra_column' is not read by the run" in err
    labels = pd.read_parquet(out / "labels.parquet").set_index("customer_id")
    expected = seglab.Segmenter.load(run_dir).predict_frame(pd.read_parquet(new))
    pd.testing.assert_frame_equal(labels, expected)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "assign" and manifest["run"] == run_dir.name
    summary = json.loads((out / "assignment.json").read_text())
    assert summary["rows"] == len(table) and summary["extra_columns"] == ["extra_column"]
    assert sum(s["rows"] for s in summary["segments"]) == len(table)
    html = (out / "assignment.html").read_text()
    assert "unlike any segment" in html and "http" not in html.replace("http-equiv", "")
    assert all(not p.stat().st_mode & stat.S_IWUSR for p in out.iterdir())
    assert _snapshot(run_dir) == before


def test_assign_streams_csv_in_chunks(run_dir, table, tmp_path):
    from seglab import assign

    csv = tmp_path / "new.csv"
    table.head(1000).to_csv(csv, index=False)
    summary = assign.assign(run_dir, str(csv), tmp_path / "out", chunk_rows=350)
    labels = pd.read_parquet(tmp_path / "out" / "labels.parquet")
    expected = seglab.Segmenter.load(run_dir).predict(table.head(1000))
    assert summary["rows"] == 1000 and np.array_equal(labels["segment"], expected)


@pytest.mark.parametrize(("change", "named"), [
    (lambda t: t.drop(columns="recency_days"), "column 'recency_days' is missing"),
    (lambda t: t.drop(columns="customer_id"), "column 'customer_id' is missing"),
    (lambda t: t.assign(tenure_days="long ago"), "'tenure_days': type drift"),
    (lambda t: t.head(0), "no rows"),
])
def test_bad_new_table_is_one_line_and_writes_nothing(run_dir, table, tmp_path, capsys, change,
                                                      named):
    new = tmp_path / "new.parquet"
    change(table).to_parquet(new)
    before = _snapshot(run_dir)
    out = tmp_path / "out"
    assert main(["assign", str(run_dir), "--data", str(new), "--out", str(out)]) != 0
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("seglab: error:") and named in line
    assert not out.exists() and not list(tmp_path.glob("out*"))
    assert _snapshot(run_dir) == before


def test_a_folder_that_is_not_a_finished_run_is_refused(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["assign", str(tmp_path / "empty"), "--data", str(TABLE),
                 "--out", str(tmp_path / "out")]) != 0
    assert "is not a run folder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_run_with_verdict_none_needs_force(run_dir, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    metrics = copy / "metrics.json"
    metrics.chmod(0o644)
    metrics.write_text(json.dumps({**json.loads(metrics.read_text()), "verdict": "none"}))
    argv = ["assign", str(copy), "--data", str(TABLE), "--out", str(tmp_path / "out")]
    assert main(argv) != 0
    assert "verdict is none" in capsys.readouterr().err and not (tmp_path / "out").exists()
    assert main([*argv, "--force"]) == 0


@pytest.mark.slow
def test_fit_then_predict_in_python(table):
    model = seglab.Segmenter(TINY, tracking={"backend": "local"}, report={"stability_draws": 0},
                             cluster={"algorithm": "hdbscan"}, reduce={"null_sample": None})
    model.fit(table)
    assert len(model.labels_) == len(table) and model.verdict_ is None
    assert len(model.profiles_) == len(set(model.labels_) - {-1})
    assert adjusted_rand_score(model.labels_, model.predict(table)) >= 0.98


@pytest.mark.slow
def test_assign_on_a_local_dask_cluster(run_dir, table, tmp_path):
    from seglab import assign

    summary = assign.assign(run_dir, str(TABLE), tmp_path / "out", workers=2, chunk_rows=500)
    labels = pd.read_parquet(tmp_path / "out" / "labels.parquet")
    assert summary["workers"] == 2
    assert np.array_equal(labels["segment"], seglab.Segmenter.load(run_dir).predict(table))


@pytest.mark.slow
@pytest.mark.parametrize(("make", "overrides"), [
    (lambda: make_baskets(1_500, products=40, segments=4, sparsity=0.85, seed=2), []),
    (lambda: make_mixed_crm(1_500, classes=4, seed=2), ["features.include_categorical=true"]),
], ids=["baskets", "mixed"])
def test_own_table_reproduces_the_labels_of_a_basket_and_a_mixed_run(make, overrides, tmp_path):
    """A basket block (smoothed shares, SVD) and categorical blocks with missing values replay."""
    frame = make()
    path = tmp_path / "table.parquet"
    frame.to_parquet(path, index=False)
    config = load_config(ROOT / "params" / "default.yaml", overrides=[
        f"data.path={path}", "data.label_column=segment", "backend=cpu", "tracking.backend=local",
        "report.stability_draws=0", "reduce.n_epochs=60", "reduce.null_sample=300", *overrides])
    result = run_pipeline(config, runs_dir=tmp_path / "runs", engine="direct", echo=lambda _: None)
    assert result.ok, result.message
    run_labels = pd.read_parquet(result.folder.labels)["cluster"].to_numpy()
    model = seglab.Segmenter.load(result.folder.path)
    assert adjusted_rand_score(run_labels, model.predict(frame)) >= 0.98
