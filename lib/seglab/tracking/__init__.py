"""Experiment tracking: Experiment → Trial (one ``seglab run``) → Components (one per stage).

The local SQLite store always records; SageMaker Experiments or MLflow mirror it when
configured. A mirror's failure prints one warning and marks the trial unsynced (replay it with
``seglab sync``); it never fails the run.

Example::

    tracker = open_tracker(config.tracking, store_dir="runs")
    with tracker.start_run(experiment="seglab", trial=run_id, params=config.to_dict(),
                           run_dir=run_folder) as run:
        with run.component("reduce", params={"n_neighbors": 30}) as stage:
            stage.log_metrics({"seconds": 12.3})
        run.log_metrics({"silhouette": 0.41})
        run.log_artifacts(run_folder)
"""

from __future__ import annotations

from seglab.tracking.backends import default_runs_dir
from seglab.tracking.leaderboard import leaderboard
from seglab.tracking.sync import sync
from seglab.tracking.tracker import Component, Run, Tracker, open_tracker

__all__ = [
    "Component",
    "Run",
    "Tracker",
    "default_runs_dir",
    "leaderboard",
    "open_tracker",
    "sync",
]
