"""bench.ablation without seglab runs: the variant list, the budget plan and the rendering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import ablation
from bench.ablation import VARIANTS, plan, render, run_ablation, variants_for

from seglab.config import load_config


def test_variants_start_with_the_default_and_are_valid_config():
    assert VARIANTS[0].name == "default" and VARIANTS[0].overrides == ()
    assert len({v.name for v in VARIANTS}) == len(VARIANTS)
    for variant in VARIANTS:
        load_config(None, overrides=variant.overrides)  # a typo'd key or value raises
    plain = next(v for v in VARIANTS if v.name == "plain").overrides
    assert "features.dequantize=false" in plain and "features.derived_tolerance=null" in plain
    assert [v.name for v in variants_for(False)] == [v.name for v in VARIANTS
                                                     if v.name != "categorical"]
    assert len(variants_for(True)) == len(VARIANTS)


def test_plan_drops_the_slowest_tables_to_fit_the_budget():
    defaults = {"a": 1.0, "b": 10.0, "c": 100.0}
    n = dict.fromkeys(defaults, 7)
    assert plan(defaults, n, 0.0, 1000.0) == (["a", "b", "c"], [])
    assert plan(defaults, n, 0.0, 500.0) == (["a", "b"], ["c"])
    assert plan(defaults, n, 100.0, 50.0) == ([], ["c", "b", "a"])


def _fake_run(name: str, directory: Path, overrides) -> dict[str, Any]:
    """ARI 0.9 by default, 0.5 with robust scaling; categorical columns on crm_mixed; a failed
    plain run on iris; verdicts on unlabelled tables."""
    run_dir = directory / "run"
    (run_dir / "artifacts").mkdir(parents=True, exist_ok=True)
    (run_dir / "artifacts" / "categorical.json").write_text(
        json.dumps({"contract": ["contract=a"]} if name == "crm_mixed" else {}))
    if name == "iris" and "features.derived_tolerance=null" in overrides and len(overrides) > 2:
        return {"status": "failed", "error": "ValueError: boom", "seconds_wall": 1.0,
                "run_dir": str(run_dir)}
    robust = "features.scaling=robust" in overrides
    result = {"status": "completed", "error": None, "seconds_wall": 1.0, "run_dir": str(run_dir),
              "n_clusters": 3, "verdict": "clear", "largest_cluster_fraction": 0.4,
              "silhouette_feature_space": 0.3, "stability_ari": 0.9}
    if name in ablation.UNLABELLED:
        if robust:
            result.update(verdict="weak", n_clusters=5, silhouette_feature_space=0.1)
    else:
        result["ari"] = 0.5 if robust else 0.9
    return result


def test_grid_and_rendering_with_a_fake_run(tmp_path):
    saved: list[dict[str, Any]] = []
    results = run_ablation(["iris", "crm_mixed", "rfm_no_groups"], tmp_path, budget=1e6,
                           save=lambda r: saved.append(json.loads(json.dumps(r, default=str))),
                           run=_fake_run, log=lambda _line: None)
    assert saved and results["dropped"] == [] and results["unfinished"] == []
    assert set(results["tables"]["crm_mixed"]["runs"]) == {v.name for v in VARIANTS}
    assert "categorical" not in results["tables"]["iris"]["runs"]
    page = render(saved[-1])
    assert "| iris | 0.90 | 0.50 (**-0.40**) |" in page
    assert "**failed**" in page and "ValueError: boom" in page
    assert "| rfm_no_groups | clear | **weak** |" in page
    assert "| rfm_no_groups | 3 | 5 (**+2**) |" in page
    assert "n/a" in page  # categorical on iris
    assert "It lowers ARI on iris from 0.90 to 0.50; crm_mixed from 0.90 to 0.50." in page
    assert "clear with 3 segment(s) -> weak with 5" in page


def test_budget_drops_tables(tmp_path):
    results = run_ablation(["iris", "wine"], tmp_path, budget=0.0, save=lambda r: None,
                           run=_fake_run, log=lambda _line: None)
    assert sorted(results["dropped"]) == ["iris", "wine"]
    page = render(results)
    assert "dropped" in page and "Dropped for time" in page
