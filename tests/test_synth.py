"""The synthetic customer generator: determinism, schema, and the properties its design promises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import skew, spearmanr

from seglab import synth
from seglab.data import read_table
from seglab.errors import SeglabError
from seglab.synth import make_customers, write_customers

N = 20_000


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_customers(N, seed=0)


def test_same_seed_same_table_and_other_seed_differs() -> None:
    first = make_customers(2_000, seed=3)
    pd.testing.assert_frame_equal(first, make_customers(2_000, seed=3))
    other = make_customers(2_000, seed=4)
    assert not np.allclose(first["spend_total"], other["spend_total"])


def test_columns_and_small_dtypes(table: pd.DataFrame) -> None:
    expected = [
        synth.ID_COLUMN,
        *synth.NUMERIC_COLUMNS,
        *synth.COUNT_COLUMNS,
        *synth.CATEGORICAL_COLUMNS,
        *synth.FLAG_COLUMNS,
        synth.LABEL_COLUMN,
    ]
    assert list(table.columns) == expected
    assert len(synth.NUMERIC_COLUMNS) == 14 and len(synth.COUNT_COLUMNS) == 120
    assert table[synth.ID_COLUMN].iloc[0] == "C0000001"
    assert table[synth.ID_COLUMN].is_unique
    for name in synth.NUMERIC_COLUMNS:
        wanted = np.int32 if name in synth.INTEGER_COLUMNS else np.float32
        assert table[name].dtype == wanted, name
    assert (table[list(synth.COUNT_COLUMNS)].dtypes == np.int16).all()
    assert all(isinstance(table[c].dtype, pd.CategoricalDtype) for c in synth.CATEGORICAL_COLUMNS)
    assert all(table[c].dtype == np.bool_ for c in synth.FLAG_COLUMNS)
    assert table[synth.LABEL_COLUMN].dtype == np.int16
    assert table.isna().sum().sum() == 0


def test_ground_truth_noise_and_unequal_segments(table: pd.DataFrame) -> None:
    segment = table[synth.LABEL_COLUMN].to_numpy()
    assert set(np.unique(segment)) == {-1, *range(synth.N_SEGMENTS)}
    assert (segment == -1).mean() == pytest.approx(0.03, abs=0.006)
    shares = np.bincount(segment[segment >= 0]) / len(segment)
    assert shares[0] == pytest.approx(0.34, abs=0.03)  # Zipf(1) over 8 segments, less noise
    assert shares.max() / shares.min() > 5


def test_count_block_is_sparse(table: pd.DataFrame) -> None:
    counts = table[list(synth.COUNT_COLUMNS)].to_numpy()
    assert 0.94 < (counts == 0).mean() < 0.98
    assert (counts >= 0).all()
    np.testing.assert_array_equal(table["n_items"], counts.sum(1))


def test_heavy_tails_redundancy_and_junk(table: pd.DataFrame) -> None:
    assert skew(table["spend_total"]) > 1.5  # right-skewed (the prototype gives about 2)
    assert spearmanr(table["spend_total"], table["spend_12m"]).statistic > 0.95
    assert abs(spearmanr(table["spend_total"], table["noise_num_1"]).statistic) < 0.05
    flags = table[list(synth.FLAG_COLUMNS)].to_numpy()
    assert 0.0005 < flags.mean() < 0.005


def test_channel_depends_on_segment_and_region_does_not(table: pd.DataFrame) -> None:
    def spread(column: str) -> float:
        shares = pd.crosstab(table[synth.LABEL_COLUMN], table[column], normalize="index")
        return float((shares.max() - shares.min()).max())

    assert spread("channel") > 0.3
    assert spread("region") < 0.15


def test_chunks_number_ids_on_and_do_not_depend_on_the_total(monkeypatch) -> None:
    monkeypatch.setattr(synth, "CHUNK_ROWS", 1_000)
    short, long = make_customers(2_500, seed=1), make_customers(3_000, seed=1)
    assert list(short.index) == list(range(2_500))
    assert short[synth.ID_COLUMN].iloc[-1] == "C0002500"
    pd.testing.assert_frame_equal(short.iloc[:2_000], long.iloc[:2_000])


@pytest.mark.parametrize("name", ["out/customers.parquet", "out/customers.csv", "c.csv.gz"])
def test_written_table_reads_back(tmp_path, name: str) -> None:
    path = write_customers(500, tmp_path / name, seed=2)
    assert path.is_file()
    back = read_table(str(path))
    expected = make_customers(500, seed=2)
    assert list(back.columns) == list(expected.columns)
    assert list(back[synth.ID_COLUMN]) == list(expected[synth.ID_COLUMN])
    np.testing.assert_allclose(back["spend_total"], expected["spend_total"], rtol=1e-6)
    np.testing.assert_array_equal(back["cat_000"], expected["cat_000"])
    assert list(back["channel"].astype(str)) == list(expected["channel"].astype(str))
    np.testing.assert_array_equal(back[synth.LABEL_COLUMN], expected[synth.LABEL_COLUMN])


def test_bad_requests_are_one_line_errors(tmp_path) -> None:
    with pytest.raises(SeglabError, match=r"unknown table format"):
        write_customers(10, tmp_path / "customers.xlsx")
    with pytest.raises(SeglabError, match=r"at least 1"):
        write_customers(0, tmp_path / "customers.parquet")
    assert not (tmp_path / "customers.parquet").exists()
