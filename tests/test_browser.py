"""The HTML pages in a real browser: headless Chromium opens them from disk with the network off.

Each page must log nothing to the console (its Content-Security-Policy turns any external load
into a console error), show its expected elements after its scripts ran (``--dump-dom``) and
draw a non-blank screenshot. Skipped only when Chromium is absent outside CI (``CI=true``:
Chromium must be there; ``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import image
from test_report import SEGMENT_SIZES, fake_run
from weekly_support import make_run, table_for, two_weeks

from seglab.compare_report import write_comparison
from seglab.config import CompareConfig
from seglab.leaderboard_html import render_leaderboard
from seglab.report import build_report
from seglab.runfolder import RunFolder
from seglab.weekly import compare_runs, read_run

CHROMIUM = next(
    (path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))),
    None,
)
OFFLINE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr", "--v=0",
)
"""No network: every request goes to a closed local port and no host name resolves."""
MIN_COLOURS = 50
"""A screenshot with fewer distinct colours is blank or nearly so."""

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="headless Chromium not installed (apt-get install -y chromium); required when CI=true",
)


def open_page(url: str, tmp_path: Path, *action: str) -> tuple[str, list[str]]:
    """Run Chromium on ``url``; returns its stdout and the console messages it logged."""
    assert CHROMIUM is not None, "CI=true but Chromium is missing: apt-get install -y chromium"
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    done = subprocess.run(
        [CHROMIUM, *OFFLINE_FLAGS, f"--user-data-dir={profile}", *action, url],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def dom(url: str, tmp_path: Path) -> str:
    """The page's DOM after its scripts ran; fails on any console message."""
    html, console = open_page(url, tmp_path, "--dump-dom")
    assert console == [], f"console messages: {console}"
    return html


def assert_screenshot_not_blank(url: str, tmp_path: Path, size: str = "1280,1600") -> Path:
    shot = tmp_path / "screenshot.png"
    _, console = open_page(url, tmp_path, f"--screenshot={shot}", f"--window-size={size}")
    assert console == [], f"console messages: {console}"
    pixels = (image.imread(shot)[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    colours = len(np.unique(pixels, axis=0))
    assert colours >= MIN_COLOURS, f"screenshot looks blank: {colours} distinct colours"
    return shot


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunFolder:
    folder = fake_run(tmp_path_factory.mktemp("runs") / "20260101T000000Z-abcdef")
    build_report(folder)
    return folder


def test_report_renders_offline(run: RunFolder, tmp_path: Path) -> None:
    page = dom(run.report.as_uri(), tmp_path)
    assert page.count('class="segment-card"') == len(SEGMENT_SIZES)
    assert page.count('class="group-card"') == 2
    for element in ('id="segment-map"', 'id="hierarchy"', 'id="stability"', 'id="methods"',
                    'id="k-distance"'):
        assert element in page, element
    assert_screenshot_not_blank(run.report.as_uri(), tmp_path)


def _board(run: RunFolder) -> pd.DataFrame:
    """Three trials as ``leaderboard()`` returns them; the best one has the run's report."""
    started = pd.Timestamp("2026-01-01", tz="UTC")
    return pd.DataFrame({
        "trial": ["t-low", "t-best", "t-failed"],
        "experiment": ["exp"] * 3,
        "status": ["completed", "completed", "failed"],
        "started_at": [started + pd.Timedelta(minutes=m) for m in range(3)],
        "seconds": [10.0, 12.0, 3.0],
        "run_dir": ["/nonexistent/run", str(run.path), None],
        "params.cluster.eps": [0.2, 0.4, 0.6],
        "metrics.silhouette": [0.31, 0.74, None],
        "metrics.noise_fraction": [0.02, 0.05, None],
    })


def test_leaderboard_sorts_links_and_plots_offline(run: RunFolder, tmp_path: Path) -> None:
    board = tmp_path / "board.html"
    board.write_text(render_leaderboard(_board(run)))
    page = dom(board.as_uri() + "#sort=-silhouette", tmp_path)
    rows = page[page.index("<tbody>"):]
    assert rows.index("t-best") < rows.index("t-low") < rows.index("t-failed"), "sorted, empty last"
    assert 'aria-sort="descending"' in page
    assert page.count('class="point') == 2, "one point per trial with both scores"
    assert f'href="{run.report.as_uri()}"' in page and page.count('class="report-link"') == 1
    ascending = dom(board.as_uri() + "#sort=silhouette", tmp_path)
    body = ascending[ascending.index("<tbody>"):]
    assert body.index("t-low") < body.index("t-best")
    assert_screenshot_not_blank(board.as_uri(), tmp_path, size="1100,900")


def test_empty_leaderboard(tmp_path: Path) -> None:
    board = tmp_path / "empty.html"
    board.write_text(render_leaderboard(pd.DataFrame(columns=["trial", "status", "run_dir"])))
    assert "No runs recorded yet" in dom(board.as_uri(), tmp_path)


def test_compare_page_renders_offline(tmp_path: Path) -> None:
    weeks = two_weeks()
    run_a = make_run(tmp_path / "runs" / "week-a", table_for(weeks.a, seed=1), weeks.a)
    run_b = make_run(tmp_path / "runs" / "week-b", table_for(weeks.b, seed=2, shift=1.0), weeks.b)
    out = tmp_path / "weekly"
    out.mkdir()
    write_comparison(out, compare_runs(read_run(run_a), read_run(run_b), CompareConfig()))
    page = dom((out / "compare.html").as_uri(), tmp_path)
    for element in ('id="alluvial"', 'id="migration-matrix"', 'id="psi"', "2 of 6 segments held"):
        assert element in page, element
    assert page.count('class="transition"') == 6
    assert_screenshot_not_blank((out / "compare.html").as_uri(), tmp_path)
