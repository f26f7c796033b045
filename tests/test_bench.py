"""The benchmark suite: per-case measurement, the README it writes, and its quick mode end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench.measure import run_measured
from bench.readme import load_results, write_readme

REPO = Path(__file__).resolve().parents[1]
MIB = 2**20
ALLOCATE = "import numpy as np, time; a = np.ones({mib} * 2**17); time.sleep(0.6)"


def _peak_from_small_launcher(mib: int, log: Path) -> int:
    """Measure from a fresh interpreter, as ``python -m bench`` does: a child's ``ru_maxrss``
    starts at its launcher's RSS, and this pytest process may be large by now."""
    child = [sys.executable, "-c", ALLOCATE.format(mib=mib)]
    code = (f"from bench.measure import run_measured; from pathlib import Path; "
            f"m = run_measured({child!r}, log=Path({str(log)!r})); "
            "assert m.returncode == 0; print(m.peak_rss_bytes)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          check=True)
    return int(done.stdout.split()[-1])


def test_peak_rss_is_the_child_s_own(tmp_path: Path) -> None:
    small = _peak_from_small_launcher(20, tmp_path / "s.log")
    large = _peak_from_small_launcher(300, tmp_path / "l.log")
    assert large - small > 250 * MIB


def test_peak_rss_adds_up_concurrent_descendants(tmp_path: Path) -> None:
    """Two grandchildren holding 250 MiB each at once: only the polled tree sum sees 500 MiB."""
    script = (f"import subprocess, sys; code = {ALLOCATE.format(mib=250)!r}.replace('0.6', '1.5'); "
              "ps = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(2)]; "
              "[p.wait() for p in ps]")
    measured = run_measured([sys.executable, "-c", script], log=tmp_path / "t.log")
    assert measured.returncode == 0
    assert measured.tree_peak_bytes > 450 * MIB
    assert measured.peak_rss_bytes == max(measured.tree_peak_bytes, measured.maxrss_bytes)


def test_failed_child_reports_its_status(tmp_path: Path) -> None:
    measured = run_measured([sys.executable, "-c", "raise SystemExit(3)"], log=tmp_path / "f.log")
    assert measured.returncode == 3


def _case(case: str, rows: int, wall: float, rss_gib: float, ari: float, session: str = "s1",
          stages: dict[str, float] | None = None) -> dict:
    return {"case": case, "rows": rows, "session": session, "ok": True, "wall_seconds": wall,
            "cpu_seconds": wall, "peak_rss_bytes": int(rss_gib * 2**30), "load_before": [1.0, 1.0, 1.0],
            "load_after": [2.0, 2.0, 2.0], "quality": {"ari": ari, "n_clusters": 8},
            "stages": stages or {"reduce": wall / 2}}


def _write(results: Path, cases: list[dict]) -> None:
    results.mkdir(exist_ok=True)
    for case in cases:
        (results / f"{case['case']}_{case['rows']}.json").write_text(json.dumps(case))


def test_readme_checks_targets_against_the_same_session(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _write(results, [
        _case("naive", 200_000, 400.0, 2.0, 0.70),
        _case("library", 200_000, 35.0, 1.5, 0.80),
        _case("notebooks", 200_000, 100.0, 1.5, 0.80),
        _case("notebooks", 1_000_000, 300.0, 4.0, 0.90, session="s2",
              stages={"reduce": 100.0, "eps": 20.0}),
        _case("notebooks", 5_000_000, 2000.0, 12.0, 0.90, session="s2",
              stages={"reduce": 520.0, "eps": 100.0}),
    ])
    readme = tmp_path / "README.md"
    write_readme(results, readme, command="python -m bench --test")
    text = readme.read_text()
    targets = text.split("## Targets")[1].split("## Seconds")[0]
    rows = [line for line in targets.splitlines() if line.startswith("| ") and "target" not in line]
    assert [row.rsplit("|", 2)[1].strip() for row in rows] == ["yes", "yes", "**no**", "**no**"]
    assert "11.4×" in text  # library: 400 / 35
    assert "reduce 5.2×, eps 5.0×" in text
    assert (results / "scaling.png").stat().st_size > 10_000
    assert "python -m bench --test" in text


def test_readme_grows_5m_from_1m_only_within_one_session(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _write(results, [
        _case("notebooks", 1_000_000, 90.0, 3.0, 0.90, session="new", stages={"eps": 0.4}),
        _case("notebooks", 5_000_000, 540.0, 12.0, 0.75, session="old", stages={"eps": 147.0}),
    ])
    write_readme(results, tmp_path / "README.md", command="x")
    text = (tmp_path / "README.md").read_text()
    assert "the 1M run is from another session" in text and "5M/1M" not in text


def test_readme_ignores_a_baseline_from_another_session(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _write(results, [_case("naive", 200_000, 400.0, 2.0, 0.70, session="old"),
                     _case("library", 200_000, 35.0, 1.5, 0.80, session="new")])
    write_readme(results, tmp_path / "README.md", command="x")
    text = (tmp_path / "README.md").read_text()
    assert "not run in one session" in text
    assert "×" not in text.split("## Results")[1].split("## Targets")[0]
    assert [r["case"] for r in load_results(results)] == ["naive", "library"]


@pytest.mark.slow
def test_quick_suite_runs_every_case(tmp_path: Path) -> None:
    """``make bench BENCH_QUICK=1``: every case at 2,000 rows, one JSON each, a README."""
    readme = tmp_path / "README.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--results-dir", str(tmp_path / "results"),
         "--work-dir", str(tmp_path / "work"), "--readme", str(readme)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = load_results(tmp_path / "results")
    assert sorted(r["case"] for r in results) == ["library", "naive", "notebooks"]
    for result in results:
        assert result["ok"] and result["rows"] == 2_000
        assert result["peak_rss_bytes"] > 50 * MIB
        assert result["quality"]["ari"] is not None
        assert result["stages"]["reduce"] > 0
        assert result["machine"]["cores"] >= 1
    assert "| 2,000 | library |" in readme.read_text()
