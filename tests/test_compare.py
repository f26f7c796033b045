"""Week against week on labels and small tables (no pipeline): transitions, migration, drift."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from test_report import fake_run
from weekly_support import EXPECTED, SIZES_A, make_run, table_for, two_weeks

from seglab import compare, drift, plots, stages
from seglab.config import CompareConfig, load_config
from seglab.errors import SeglabError
from seglab.names import carry_names, default_names, segment_colour
from seglab.report import build_report
from seglab.weekly import ASSIGNED, compare_runs, read_run


def _kinds(matching: compare.Matching) -> dict[str, list]:
    found: dict[str, list] = {kind: [] for kind in compare.KINDS}
    for step in matching.transitions:
        found[step.kind].append((step.a, step.b))
    return found


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_known_transition_is_found(seed: int) -> None:
    weeks = two_weeks(seed)
    matching = compare.match(compare.contingency(weeks.a, weeks.b))
    assert _kinds(matching) == EXPECTED
    assert matching.pairs[0] == 10 and matching.pairs[1] == 11
    linked = {(link["a"], link["b"]) for link in matching.links}
    assert {(2, 12), (2, 13), (3, 14), (4, 14)} <= linked and (0, 11) not in linked


@pytest.mark.parametrize("seed", [0, 1])
def test_migration_shares_within_one_point(seed: int) -> None:
    weeks = two_weeks(seed)
    moves = compare.migration(compare.match(compare.contingency(weeks.a, weeks.b)))
    cell = moves[(moves["a"] == 0) & (moves["b"] == 11)]
    assert cell["share_of_a"].item() == pytest.approx(weeks.migrated, abs=0.01)
    assert compare.moved_share(moves) == pytest.approx(weeks.moved.mean(), abs=0.01)
    assert moves["customers"].sum() == len(weeks.moved), "every shared customer counted once"
    split = moves[moves["a"] == 2].set_index("b")["share_of_a"]
    assert split[12] == pytest.approx(0.55, abs=0.05) and not moves.loc[moves["a"] == 2, "moved"].any()


def test_a_run_against_itself_holds_everything() -> None:
    labels = two_weeks().a
    matching = compare.match(compare.contingency(labels, labels))
    assert {step.kind for step in matching.transitions} == {"survived"}
    assert matching.survivors == {s: s for s in SIZES_A if s >= 0}
    assert compare.moved_share(compare.migration(matching)) == 0.0


def test_thresholds_decide_between_survival_and_split() -> None:
    a = pd.Series(np.zeros(100, dtype=int))
    b = pd.Series(np.r_[np.zeros(70, dtype=int), np.ones(30, dtype=int)])
    table = compare.contingency(a, b)
    assert _kinds(compare.match(table))["split"] == [((0,), (0, 1))]
    strict = compare.match(table, compare.Thresholds(core_share=0.5, part_share=0.4))
    assert _kinds(strict)["survived"] == [((0,), (0,))] and _kinds(strict)["new"] == [((), (1,))]
    assert strict.transitions[-1].to_dict()["mostly"] == 0, "split off segment 0"


def test_noise_is_never_a_segment() -> None:
    a = pd.Series([-1] * 50 + [0] * 50)
    b = pd.Series([0] * 50 + [-1] * 50)
    matching = compare.match(compare.contingency(a, b))
    kinds = _kinds(matching)
    assert kinds["vanished"] == [((0,), ())] and kinds["new"] == [((), (0,))]
    assert all(step.mostly is None for step in matching.transitions), "noise is no origin"


def test_psi_is_zero_on_equal_samples_and_flags_a_shift() -> None:
    rng = np.random.default_rng(0)
    sample = rng.normal(size=5000)
    assert drift.numeric_psi(sample, sample) == 0.0
    assert drift.numeric_psi(sample, rng.normal(size=5000)) < 0.1
    assert drift.numeric_psi(sample, rng.normal(1.0, 1.0, size=5000)) > 0.25
    assert drift.numeric_psi(np.r_[np.zeros(900), np.ones(100)], np.r_[np.zeros(500), np.ones(500)]) > 0.25
    assert drift.psi_flag(0.12, 0.1, 0.25) == "watch" and drift.psi_flag(0.3, 0.1, 0.25) == "shifted"


def test_no_shared_column_is_one_clear_error() -> None:
    a = drift.Table(pd.DataFrame({"x": [1.0, 2.0]}), {})
    b = drift.Table(pd.DataFrame({"y": [1.0, 2.0]}), {})
    with pytest.raises(SeglabError, match=r"share no column.*A: x; B: y"):
        drift.shared_columns(a, b)


def test_names_carry_over_for_survivors_only() -> None:
    previous = default_names([0, 1, 2])
    previous[1]["name"] = "loyal app users"
    names = carry_names(previous, {7: 1, 8: 0}, [7, 8, 9, -1])
    assert names[7] == {"name": "loyal app users", "colour": segment_colour(1), "carried_from": 1}
    assert names[8]["name"] == "Segment 0" and names[8]["colour"] == segment_colour(0)
    assert names[9]["name"] == "Segment 1", "the first name the earlier run did not use"
    assert names[9]["colour"] not in {segment_colour(0), segment_colour(1)}


# -- from run folders ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def weekly_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    weeks = two_weeks()
    root = tmp_path_factory.mktemp("runs")
    run_a = make_run(root / "week-a", table_for(weeks.a, seed=1), weeks.a)
    run_b = make_run(root / "week-b", table_for(weeks.b, seed=2, shift=1.0), weeks.b, group=True)
    return run_a, run_b


def test_compare_runs_reports_the_contract_keys(weekly_runs: tuple[Path, Path]) -> None:
    run_a, run_b = weekly_runs
    weeks = two_weeks()
    result = compare_runs(read_run(run_a), read_run(run_b), CompareConfig())
    assert result["run_a"] == "week-a" and result["run_b"] == "week-b"
    assert result["shared_customers"] == len(weeks.moved)
    assert result["new_customers"] == 750 and result["lost_customers"] == len(weeks.a) - len(weeks.moved)
    assert result["moved_share"] == pytest.approx(weeks.moved.mean(), abs=0.01)
    assert {t["kind"] for t in result["transitions"]} == set(compare.KINDS)
    assert result["psi_flags"]["spend"] == "shifted"
    assert result["psi_flags"]["channel"] == "stable", result["psi"]
    assert result["layers"] == {"a": False, "b": True}
    survived = next(d for d in result["segment_drift"] if d["a"] == [0])
    assert survived["columns"][0]["column"] == "spend" and survived["columns"][0]["change"] > 0.1


def test_self_comparison_from_folders(weekly_runs: tuple[Path, Path]) -> None:
    run_a, _ = weekly_runs
    side = read_run(run_a)
    result = compare_runs(side, side, CompareConfig())
    assert result["moved_share"] == 0 and result["n_survived"] == len(side.segments)
    assert set(result["psi"].values()) == {0.0}
    assert all(c["change"] == 0 for d in result["segment_drift"] for c in d["columns"])


def test_disjoint_customers_are_assigned_with_a_model(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    weeks = two_weeks()
    run_a = make_run(tmp_path / "a", table_for(weeks.a, seed=1), weeks.a)
    later = weeks.a.set_axis(weeks.a.index + 100_000)  # the same segments, all-new customers
    run_b = make_run(tmp_path / "b", table_for(later, seed=2), later.replace({2: 7}))

    class FakeSegmenter:
        @classmethod
        def load(cls, folder: Path) -> FakeSegmenter:
            assert Path(folder) == run_a
            return cls()

        def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
            segment = later.loc[frame["customer_id"]].to_numpy()
            return pd.DataFrame({"segment": segment, "group": -1, "confidence": 1.0,
                                 "unlike_any": segment == 5}, index=frame["customer_id"])

    monkeypatch.setitem(sys.modules, "seglab.segmenter",
                        types.SimpleNamespace(Segmenter=FakeSegmenter))
    result = compare_runs(read_run(run_a), read_run(run_b), CompareConfig())
    assert result["basis"] == ASSIGNED and result["assigned_with"] == "a"
    assert result["shared_customers"] == 0 and result["new_customers"] == len(later)
    kinds = {(t["kind"], tuple(t["a"]), tuple(t["b"])) for t in result["transitions"]}
    assert ("survived", (2,), (7,)) in kinds and ("vanished", (5,), ()) in kinds
    assert any(row["a"] == compare.UNLIKE_ANY for row in result["migration"])


def test_disjoint_customers_without_a_segmenter_is_one_line(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    weeks = two_weeks()
    run_a = make_run(tmp_path / "a", table_for(weeks.a, seed=1), weeks.a)
    later = weeks.a.set_axis(weeks.a.index + 100_000)
    run_b = make_run(tmp_path / "b", table_for(later, seed=2), later)
    monkeypatch.setitem(sys.modules, "seglab.segmenter", None)  # import fails
    with pytest.raises(SeglabError, match=r"^runs share no customers; .* needs seglab.segmenter$"):
        compare_runs(read_run(run_a), read_run(run_b), CompareConfig())


def test_folders_that_cannot_be_compared(tmp_path: Path) -> None:
    with pytest.raises(SeglabError, match="is not a run folder"):
        read_run(tmp_path)
    weeks = two_weeks()
    run = make_run(tmp_path / "r", table_for(weeks.a, seed=1), weeks.a)
    unlabelled = tmp_path / "unlabelled"
    unlabelled.mkdir()
    for name in ("params.yaml", "manifest.json", "metrics.json"):
        (unlabelled / name).write_bytes((run / name).read_bytes())
    with pytest.raises(SeglabError, match=r"has no labels.parquet .*finished clustering"):
        read_run(unlabelled)


def test_previous_names_and_colours_reach_the_report(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "this-week")
    labels = pd.read_parquet(run.labels).set_index("customer_id")["cluster"]
    earlier = labels.replace({0: 5, 1: 7, 2: -1})  # 0 and 1 survive (as 5 and 7), 2 is new
    previous = make_run(tmp_path / "last-week", table_for(earlier, seed=1), earlier)
    config = load_config(run.params, overrides=[f"report.previous_run={previous}"])
    found: list[str] = []
    names = stages._carried_names(run, config, labels, found)
    assert found == [] and names is not None
    assert names[0] == {"name": "Segment 5", "colour": segment_colour(5), "carried_from": 5}
    assert names[2]["name"] == "Segment 0" and names[2]["carried_from"] is None
    html = build_report(run)
    for segment, entry in names.items():
        assert f'data-segment="{segment}" style="--colour: {entry["colour"]}"' in html
        assert f"<h3>{entry['name']}</h3>" in html


def test_previous_run_without_common_customers_warns(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "this-week")
    labels = pd.read_parquet(run.labels).set_index("customer_id")["cluster"]
    others = labels.set_axis("X" + labels.index)
    previous = make_run(tmp_path / "last-week", table_for(others, seed=1), others)
    config = load_config(run.params, overrides=[f"report.previous_run={previous}"])
    found: list[str] = []
    with pytest.warns(UserWarning, match="no customer in common"):
        names = stages._carried_names(run, config, labels, found)
    assert names == default_names([0, 1, 2]) and "no customer in common" in found[0]


def test_a_small_segment_absorbed_by_a_large_one_is_a_merge_that_keeps_the_large_name() -> None:
    a = pd.Series([0] * 1000 + [1] * 100 + [2] * 500)
    b = pd.Series([5] * 1100 + [6] * 500)
    matching = compare.match(compare.contingency(a, b))
    assert _kinds(matching)["merged"] == [((0, 1), (5,))]
    assert matching.survivors == {5: 0, 6: 2}, "the merge carries its main source's name"


def test_the_larger_part_of_a_split_keeps_the_name() -> None:
    a = pd.Series([0] * 1000)
    b = pd.Series([3] * 700 + [4] * 300)
    matching = compare.match(compare.contingency(a, b))
    assert _kinds(matching)["split"] == [((0,), (3, 4))] and matching.survivors == {3: 0}


def test_figures_use_the_carried_names_and_colours() -> None:
    names = {0: {"name": "loyal app users", "colour": "#123456"}}
    gaps = pd.DataFrame({"spend": [1.0, -1.0]}, index=pd.Index([0, 1], name="segment"))
    figure = plots.segment_profiles(gaps, pd.Series({0: 0.6, 1: 0.4}), names)
    first, second = figure.axes[0].get_yticklabels()
    assert first.get_text() == "loyal app users (60%)" and first.get_color() == "#123456"
    assert second.get_text() == "segment 1 (40%)"
    coords = np.random.default_rng(0).normal(size=(40, 3))
    legend = plots.embedding_map(coords, np.repeat([0, 1], 20), title="t", names=names).axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == ["noise", "loyal app users", "segment 1"]
    plt.close("all")
