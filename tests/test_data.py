"""The input contract: each case gets its configured treatment or a one-line DataError."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seglab import tables
from seglab.cli import main
from seglab.config import DataConfig
from seglab.data import check_table, fingerprint, load_customers, prepare_table, read_table
from seglab.errors import DataError
from seglab.synth import write_customers


def customers(n: int = 8, **extra: object) -> pd.DataFrame:
    """A small clean table: ids, two numerics, a boolean, a categorical; plus ``extra`` columns."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:03d}" for i in range(n)],
            "spend": rng.uniform(10, 100, n),
            "orders": np.arange(1, n + 1),
            "member": [i % 2 == 0 for i in range(n)],
            "channel": pd.Categorical(["web", "store"] * (n // 2)),
        }
    )
    for name, values in extra.items():
        frame[name] = values
    return frame


def prepare(frame: pd.DataFrame, **cfg: object):
    return prepare_table(frame, DataConfig(**cfg), source="t.csv")


def findings(table, column: str) -> list[tuple[str, int, str]]:
    return [(f.problem, f.count, f.treatment) for f in table.report.findings if f.column == column]


# -- a clean table ---------------------------------------------------------------------------


def test_clean_table_becomes_float32_features() -> None:
    frame = customers()
    table = prepare(frame)
    assert list(table.features.columns) == [
        "spend",
        "orders",
        "member",
        "channel=store",
        "channel=web",
    ]
    assert (table.features.dtypes == np.float32).all()
    assert table.features["member"].tolist() == [1, 0] * 4
    assert table.features["channel=web"].tolist() == [1, 0] * 4
    assert table.categorical_columns == {"channel": ["channel=store", "channel=web"]}
    assert list(table.ids) == list(frame["customer_id"])
    assert table.truth is None
    assert table.report.rows_in == table.report.rows_out == 8
    assert table.report.ok
    assert table.fingerprint == fingerprint(frame)


def test_input_frame_is_left_unchanged() -> None:
    frame = customers(spend=np.array([1.0, np.inf, np.nan, 4, 5, 6, 7, 8], dtype=np.float32))
    before = frame.copy()
    prepare(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_label_column_is_truth_never_a_feature() -> None:
    table = prepare(customers(segment=[0, 1, 1, -1, 0, 2, 2, 1]), label_column="segment")
    assert "segment" not in table.features.columns
    assert table.truth.tolist() == [0, 1, 1, -1, 0, 2, 2, 1]


def test_text_labels_are_coded_and_missing_labels_are_noise() -> None:
    labels = ["gold", "silver", None, "gold", "silver", "gold", "gold", "bronze"]
    table = prepare(customers(tier=labels), label_column="tier")
    assert table.truth.tolist() == [1, 2, -1, 1, 2, 1, 1, 0]
    assert ("missing labels", 1, "set to -1") in findings(table, "tier")


# -- table-level errors ----------------------------------------------------------------------


def test_missing_id_column_lists_the_columns() -> None:
    with pytest.raises(DataError, match=r"id column 'cust' not found.*customer_id, spend"):
        prepare(customers(), id_column="cust")


def test_missing_label_column_is_an_error() -> None:
    with pytest.raises(DataError, match=r"label column 'segment' not found.*data.label_column"):
        prepare(customers(), label_column="segment")


@pytest.mark.parametrize(("rows", "pattern"), [(0, "no rows"), (1, "single row")])
def test_empty_and_one_row_tables_are_errors(rows: int, pattern: str) -> None:
    with pytest.raises(DataError, match=pattern):
        prepare(customers().iloc[:rows])


def test_error_messages_are_one_line() -> None:
    with pytest.raises(DataError) as caught:
        prepare(customers(), id_column="cust")
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("t.csv: ")


# -- ids -------------------------------------------------------------------------------------


def duplicated() -> pd.DataFrame:
    frame = customers()
    frame.loc[3, "customer_id"] = "C001"
    frame.loc[5, "customer_id"] = "C001"
    return frame


def test_duplicate_ids_keep_first() -> None:
    table = prepare(duplicated())
    assert table.features.shape[0] == 6
    assert list(table.ids).count("C001") == 1
    assert findings(table, "customer_id") == [("duplicate ids", 2, "kept first")]


def test_duplicate_ids_drop_all() -> None:
    table = prepare(duplicated(), duplicate_ids="drop")
    assert "C001" not in list(table.ids)
    assert table.report.rows_out == 5


def test_duplicate_ids_error_names_an_id() -> None:
    with pytest.raises(DataError, match=r"2 row\(s\) repeat an earlier id \(e.g. 'C001'\)"):
        prepare(duplicated(), duplicate_ids="error")


def test_rows_without_an_id_are_dropped() -> None:
    frame = customers()
    frame.loc[2, "customer_id"] = None
    table = prepare(frame)
    assert table.report.rows_out == 7
    assert findings(table, "customer_id") == [("missing ids", 1, "dropped rows")]


# -- values ----------------------------------------------------------------------------------


def with_gaps() -> pd.DataFrame:
    spend = [1.0, 2.0, np.nan, 4.0, np.inf, 6.0, 7.0, 100.0]
    frame = customers(spend=spend)
    frame["channel"] = pd.Categorical(["web", None, "store", "web", "web", "store", "web", "web"])
    return frame


def test_missing_values_and_infinities_are_imputed() -> None:
    table = prepare(with_gaps())
    assert np.isfinite(table.features.to_numpy()).all()
    spend = table.features["spend"].tolist()
    assert spend[2] == spend[4] == 5.0  # the median of the other values
    assert table.features.loc[1, "channel=web"] == 1.0  # the mode
    assert ("infinite values", 1, "set to missing") in findings(table, "spend")
    assert ("missing values", 2, "imputed median") in findings(table, "spend")
    assert ("missing values", 1, "imputed mode") in findings(table, "channel")


def test_missing_values_drop_rows() -> None:
    table = prepare(with_gaps(), missing="drop")
    assert list(table.ids) == ["C000", "C003", "C005", "C006", "C007"]


def test_missing_values_error_names_the_column() -> None:
    with pytest.raises(DataError, match=r"column 'spend': 2 missing value\(s\).*data.missing"):
        prepare(with_gaps(), missing="error")


def test_all_missing_column_is_dropped() -> None:
    table = prepare(customers(empty=[np.nan] * 8), missing="drop")
    assert "empty" not in table.features.columns
    assert table.report.rows_out == 8
    assert findings(table, "empty") == [("all missing", 8, "dropped column")]


def junk_text() -> list[object]:
    return ["1.5"] * 20 + ["n/a?"] + ["2"] * 19


def test_junk_in_numeric_text_is_coerced() -> None:
    table = prepare(customers(40, score=junk_text()))
    assert table.features["score"].dtype == np.float32
    assert ("non-numeric values", 1, "set to missing") in findings(table, "score")
    assert ("missing values", 1, "imputed median") in findings(table, "score")


def test_junk_in_numeric_text_error_names_the_value() -> None:
    with pytest.raises(DataError, match=r"column 'score': 1 non-numeric.*'n/a\?'.*non_numeric"):
        prepare(customers(40, score=junk_text()), non_numeric="error")


def test_mostly_text_column_is_categorical() -> None:
    table = prepare(customers(plan=["basic", "pro", "1", "basic"] * 2))
    assert table.categorical_columns["plan"] == ["plan=1", "plan=basic", "plan=pro"]


def test_categorical_drop_and_too_many_levels() -> None:
    frame = customers(40, city=[f"city{i}" for i in range(40)])
    table = prepare(frame, max_categories=10)
    assert "city" not in table.categorical_columns and "channel" in table.categorical_columns
    assert findings(table, "city") == [("too many levels", 40, "dropped column")]
    dropped = prepare(frame, categorical="drop")
    assert dropped.categorical_columns == {}
    assert not any("=" in name for name in dropped.features.columns)


def test_boolean_text_and_object_columns_become_0_1() -> None:
    table = prepare(
        customers(
            opted_in=["True", "false", "TRUE", "False"] * 2,
            vip=pd.Series([True, None, False, True] * 2, dtype=object),
        )
    )
    assert table.features["opted_in"].tolist() == [1, 0, 1, 0] * 2
    assert table.features["vip"].tolist() == [1, 1, 0, 1] * 2  # the missing one: median 1


def test_constant_columns_drop_or_error() -> None:
    frame = customers(country=pd.Categorical(["DE"] * 8), version=[3] * 8)
    table = prepare(frame)
    assert {"country", "version"}.isdisjoint(table.features.columns)
    assert ("constant", 8, "dropped column") in findings(table, "version")
    with pytest.raises(DataError, match=r"column 'country': every value is 'DE'.*data.constant"):
        prepare(frame, constant="error")


def test_unsupported_type_is_dropped() -> None:
    table = prepare(customers(signup=pd.date_range("2024-01-01", periods=8)))
    assert "signup" not in table.features.columns
    assert findings(table, "signup")[0][2] == "dropped column"


def test_too_few_rows_left_after_drops() -> None:
    frame = customers(spend=[np.nan] * 7 + [1.0])
    with pytest.raises(DataError, match=r"only 1 row\(s\) left"):
        prepare(frame, missing="drop")


# -- fingerprint -----------------------------------------------------------------------------


def test_fingerprint_is_stable_and_sensitive() -> None:
    frame = customers()
    stamp = fingerprint(frame)
    assert stamp.startswith("sha256:") and len(stamp) == len("sha256:") + 64
    assert fingerprint(frame.copy()) == stamp
    assert fingerprint(frame.set_axis(range(10, 18))) == stamp  # the index is not content
    changed = frame.copy()
    changed.loc[4, "orders"] = 99
    assert fingerprint(changed) != stamp
    assert fingerprint(frame.rename(columns={"orders": "n_orders"})) != stamp
    assert fingerprint(frame.astype({"orders": "float64"})) != stamp


# -- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet", ".pq"])
def test_read_table_formats_and_columns(tmp_path, suffix: str) -> None:
    frame = customers()
    path = tmp_path / f"customers{suffix}"
    if ".csv" in suffix:
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    back = read_table(str(path))
    assert list(back.columns) == list(frame.columns)
    assert list(back["customer_id"]) == list(frame["customer_id"])
    np.testing.assert_allclose(back["spend"], frame["spend"])
    assert list(read_table(str(path), columns=["customer_id", "orders"]).columns) == [
        "customer_id",
        "orders",
    ]


def test_read_table_errors_name_the_path_and_fix(tmp_path, monkeypatch) -> None:
    with pytest.raises(DataError, match=r"customers.xlsx: unknown table format"):
        read_table(str(tmp_path / "customers.xlsx"))
    with pytest.raises(DataError, match=r"missing.parquet: file not found.*--data"):
        read_table(str(tmp_path / "missing.parquet"))
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet at all")
    with pytest.raises(DataError, match=r"broken.parquet: could not read the table"):
        read_table(str(broken))
    monkeypatch.setattr(tables.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match=r"pip install -e '.\[s3\]'"):
        read_table("s3://bucket/customers.parquet")


def test_a_truncated_csv_gz_is_one_line_naming_the_file(tmp_path, capsys) -> None:
    path = tmp_path / "customers.csv.gz"
    customers(2000).to_csv(path, index=False)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match=r"customers.csv.gz: could not read the table \(Compressed file"):
        read_table(str(path))
    assert main(["data", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"seglab: error: {path}: could not read"), err


def nested_table(tmp_path) -> str:
    """A Parquet table with a list, a struct and a map column besides ``customers()``'s."""
    frame = pa.Table.from_pandas(customers(), preserve_index=False)
    frame = frame.append_column("tags", pa.array([["a", "b"], [], None, ["c"]] * 2))
    frame = frame.append_column("address", pa.array([{"city": "Köln", "zip": 50667}] * 8))
    frame = frame.append_column("scores", pa.array([[("x", 1)]] * 8, pa.map_(pa.string(), pa.int64())))
    path = tmp_path / "nested.parquet"
    pq.write_table(frame, path)
    return str(path)


def test_nested_parquet_columns_are_dropped_with_a_finding(tmp_path) -> None:
    path = nested_table(tmp_path)
    report = check_table(path, DataConfig())
    assert report.ok
    for name in ("tags", "address", "scores"):
        (finding,) = [item for item in report.findings if item.column == name]
        assert finding.treatment == "dropped column" and "lists or mappings" in finding.message
    table = load_customers(DataConfig(), path)
    assert not {"tags", "address", "scores"} & set(table.features.columns)
    frame = pd.read_parquet(path)
    changed = frame.copy()
    changed.at[0, "address"] = {"city": "Koeln", "zip": 50667}
    assert table.fingerprint == fingerprint(frame) != fingerprint(changed)


def test_a_nested_id_column_is_an_error_naming_it(tmp_path) -> None:
    with pytest.raises(DataError, match=r"id column 'tags' holds lists or mappings.*data.id_column"):
        load_customers(DataConfig(id_column="tags"), nested_table(tmp_path))


def test_latin_1_text_in_a_csv_is_decoded_and_said_so(tmp_path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(b"customer_id,city,spend\n" + b"".join(
        b"C%d,%s,%d\n" % (i, [b"K\xf6ln", b"Bonn"][i % 2], i) for i in range(8)))
    report = check_table(str(path), DataConfig())
    (finding,) = [item for item in report.findings if item.problem == "not UTF-8"]
    assert (finding.column, finding.count, finding.treatment) == ("city", 4, "decoded as Latin-1")
    table = load_customers(DataConfig(), str(path))
    assert set(table.categorical_columns["city"]) == {"city=Köln", "city=Bonn"}


def test_load_customers_end_to_end(tmp_path) -> None:
    path = write_customers(600, tmp_path / "customers.parquet", seed=5)
    table = load_customers(DataConfig(label_column="segment"), str(path))
    assert table.n_rows == 600
    assert table.features.shape[1] > 150  # numerics, counts, flags, one-hots
    assert np.isfinite(table.features.to_numpy()).all()
    assert set(table.categorical_columns) == {"channel", "region", "device", "payment"}
    assert (table.truth == -1).any()
    assert table.fingerprint == fingerprint(read_table(str(path)))


# -- data check ------------------------------------------------------------------------------


def test_check_lists_every_error_instead_of_raising(tmp_path) -> None:
    frame = duplicated()
    frame["version"] = 3
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    report = check_table(str(path), DataConfig(duplicate_ids="error", constant="error"))
    assert not report.ok
    assert {(f.column, f.problem) for f in report.errors} == {
        ("customer_id", "duplicate ids"),
        ("version", "constant"),
    }
    text = report.render()
    assert "status: FAILED" in text and "version" in text and "duplicate ids" in text
    assert json.loads(json.dumps(report.to_dict()))["ok"] is False


def test_check_reports_a_fatal_problem(tmp_path) -> None:
    path = tmp_path / "customers.parquet"
    customers().to_parquet(path)
    report = check_table(str(path), DataConfig(id_column="cust"))
    assert not report.ok
    assert "id column 'cust' not found" in report.render()


def test_check_of_a_clean_table_says_ok(tmp_path) -> None:
    path = tmp_path / "customers.parquet"
    customers().to_parquet(path)
    report = check_table(str(path), DataConfig())
    assert report.ok and report.rows_out == 8
    assert report.render().splitlines()[-1] == "status: OK, a run would proceed"


def test_check_of_a_csv_with_junk_in_a_numeric_column(tmp_path) -> None:
    path = tmp_path / "customers.csv"
    customers(40, score=junk_text()).to_csv(path, index=False)
    report = check_table(str(path), DataConfig())
    assert report.ok
    assert ("score", "non-numeric values", 1, "set to missing") in {
        (f.column, f.problem, f.count, f.treatment) for f in report.findings
    }
