"""One function per notebook: read the run folder, do the stage's work, write its outputs.

Notebooks (and any other driver) call these in order; nothing passes between them but files in
the run folder. Each function returns what its notebook shows.

The expensive stages (feature preparation, UMAP, the k-distance knee) write their outputs
through the stage cache (:mod:`seglab.cache`): ``compute`` writes files into ``artifacts/``,
then the stage reads them back, so a cache hit and a fresh computation take the same path from
there on. Each stage's hit or miss is recorded in the manifest under ``cache``.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from seglab import (
    cache,
    data,
    environment,
    eps,
    features,
    metrics,
    plots,
    profiles,
    reduce,
    selection,
    stability,
    verdict,
)
from seglab import cluster as clustering
from seglab.artifacts import (
    BASE_PARAMS,
    BASELINES,
    CANDIDATES,
    CATEGORICAL,
    CLUSTER_SETTINGS,
    CUSTOMERS,
    EMBEDDING,
    EMBEDDING_INFO,
    EPS,
    FEATURE_INFO,
    FEATURES,
    FIT_INDEX,
    KNEE,
    NULL_EMBEDDING,
    NULL_FEATURES,
    PCA_VARIANCE,
    PROFILE_STATS,
    PROFILE_TABLE,
    SELECTION,
    STABILITY,
    run_labels,
)
from seglab.backend import Backend, get_backend
from seglab.backend import resolve as resolve_backend
from seglab.baselines import compare_baselines
from seglab.config import Config, load_config, merge_sections, save_config, validate_config
from seglab.errors import DataError, SeglabError
from seglab.paths import DEFAULT_PARAMS, resolve, resolve_uri
from seglab.report import build_report, read_segments
from seglab.runfolder import RunFolder, atomic_write_text

FEW_LEVELS = 10
"""A numeric column with at most this many distinct values is a code or a flag (see
:func:`level_codes`)."""


def open_run(run_dir: str, **sections: Any) -> tuple[RunFolder, Config]:
    """The run folder and the config for one notebook execution, with its parameters applied.

    ``sections`` are the notebook's papermill parameters (e.g. ``reduce={"n_neighbors": 15}``):
    each overrides its section of the folder's *base* config (``artifacts/base_params.yaml``:
    what the runner wrote, else ``params/default.yaml``) for this execution only, so resetting a
    cell to ``{}`` restores the base values; the other sections are what the folder's
    ``params.yaml`` says (what the earlier stages used). ``params.yaml`` is then rewritten with
    the sections this execution used, so the folder says what each stage ran with. ``backend:
    auto`` is resolved here once (recorded in ``params.yaml``, the manifest and the metrics), so
    interactive runs and ``seglab run`` share stage-cache entries.
    """
    folder = RunFolder(resolve(run_dir))
    if folder.finished:
        raise SeglabError(f"{folder.path} is a finished run (evidence, read-only): pass a new "
                          "run_dir to re-run a stage, or start a run with `seglab run`")
    folder.create()
    base_path = folder.artifact(BASE_PARAMS)
    if not base_path.exists():
        atomic_write_text(base_path, folder.params.read_text() if folder.params.exists()
                          else resolve(DEFAULT_PARAMS).read_text())
    base = load_config(base_path).to_dict()
    current = load_config(folder.params).to_dict() if folder.params.exists() else base
    own = {name: base.get(name) for name in sections}
    config = validate_config(merge_sections({**current, **own}, sections), "notebook parameters")
    if config.backend == "auto":
        resolution = resolve_backend(config.backend)
        config = config.model_copy(update={"backend": resolution.name})
        _update_manifest(folder, backend={"requested": resolution.requested,
                                          "name": resolution.name, "reason": resolution.reason})
    folder.record_metrics(backend=config.backend)
    save_config(config, folder.params)
    return folder, config


def backend_for(config: Config) -> Backend:
    """The backend the config names (the runner has already resolved ``auto``)."""
    return get_backend(config.backend)


# -- 00 kernel setup ---------------------------------------------------------------------------
def check_environment(folder: RunFolder, config: Config) -> dict[str, str | None]:
    """Versions of the packages the pipeline uses; a missing required one is an error."""
    missing = environment.missing_packages()
    if missing:
        raise SeglabError(f"this interpreter ({environment.interpreter()}) lacks {missing}: run "
                          "./setup_kernel.sh or `make setup` and pick the seglab kernel (README)")
    return environment.package_versions()


# -- 01 exploration -----------------------------------------------------------------------
class Exploration:
    """What notebook 01 shows; the table and the feature set are read back only when used.

    After a cache hit nothing but the stage's outputs was read; ``table`` then loads and
    validates the customer table on first access (a notebook's display cells need it).
    """

    def __init__(self, folder: RunFolder, config: Config, pca_raw: pd.DataFrame,
                 pca_figure: Figure) -> None:
        self._folder, self._config = folder, config
        self.pca_raw = pca_raw
        """Explained variance of PCA on the standardised input columns (why PCA alone is not enough)."""
        self.pca_figure = pca_figure

    @cached_property
    def table(self) -> data.CustomerTable:
        return data.load_customers(self._config.data, resolve_uri(self._config.data.path))

    @cached_property
    def feature_set(self) -> features.FeatureSet:
        info = json.loads(self._folder.require(FEATURE_INFO, "01_exploration").read_text())
        return features.FeatureSet(matrix=self._folder.load_array(FEATURES, "01_exploration"),
                                   names=info["names"], dropped=info["dropped"],
                                   n_features_in=info["n_features_in"],
                                   transforms=info["transforms"])


def explore(folder: RunFolder, config: Config) -> Exploration:
    """Load and validate the table, select and scale features; write them for the next stages."""
    source = resolve_uri(config.data.path)

    def compute() -> None:
        with folder.timed("load"):
            table = data.load_customers(config.data, source)
        _require_rows(table.n_rows, config)
        with folder.timed("features"):
            feature_set = features.build_features(
                table.features,
                config.features,
                seed=config.seed,
                categorical=table.categorical_columns,
            )
        _write_exploration(folder, config, table, feature_set)

    local = None if "://" in source else Path(source)
    _cached(folder, config, "explore", {"data": local, "data_config": config.data,
                                        "features": config.features},
            (FEATURES, FEATURE_INFO, CUSTOMERS, PROFILE_TABLE, PROFILE_STATS, CATEGORICAL,
             PCA_VARIANCE), compute)
    info = json.loads(folder.require(FEATURE_INFO, "01_exploration").read_text())
    folder.record_metrics(
        n_rows=info["n_rows"],
        n_features_in=info["columns_in"] - 1 - (config.data.label_column is not None),
        n_features_used=len(info["names"]),
    )
    _update_manifest(folder, data_fingerprint=info["fingerprint"], data_path=config.data.path)
    pca_raw = pd.read_parquet(folder.require(PCA_VARIANCE, "01_exploration"))
    figure = folder.save_figure(plots.pca_variance(pca_raw), "pca_variance")
    return Exploration(folder, config, pca_raw, figure)


def _write_exploration(folder: RunFolder, config: Config, table: data.CustomerTable,
                       feature_set: features.FeatureSet) -> None:
    """The outputs of 01: features, their description, ids (and truth), profile columns, PCA."""
    folder.save_array(FEATURES, feature_set.matrix)
    folder.write_json(folder.artifact(FEATURE_INFO), {
        "names": feature_set.names, "dropped": feature_set.dropped,
        "transforms": feature_set.transforms,
        "n_features_in": feature_set.n_features_in, "columns_in": table.report.columns_in,
        "n_rows": len(table.ids), "fingerprint": table.fingerprint, "data": table.report.to_dict(),
    })
    profile_columns = profiles.profile_columns(table.features, config.features.count_columns)
    categorical = {source: [column for column in columns if column in profile_columns]
                   for source, columns in table.categorical_columns.items()}
    folder.write_json(folder.artifact(CATEGORICAL), {source: columns for source, columns
                                                     in categorical.items() if columns})
    customers = pd.DataFrame({config.data.id_column: table.ids})
    if table.truth is not None:
        customers["truth"] = table.truth
    customers.to_parquet(folder.artifact(CUSTOMERS), index=False)
    profile_table = table.features[profile_columns]
    profile_table.to_parquet(folder.artifact(PROFILE_TABLE), index=False)
    folder.write_json(folder.artifact(PROFILE_STATS),
                      profiles.population_stats(profile_table).to_dict())
    pca_raw = features.raw_pca_variance(table.features, config.features.stats_sample,
                                        config.seed)
    pca_raw.to_parquet(folder.artifact(PCA_VARIANCE), index=False)


# -- 02 dimensionality reduction ------------------------------------------------------------
@dataclass(frozen=True)
class Reduction:
    embedding: reduce.Embedding
    figure: Figure
    """The embedding, coloured by the known segments when the table has them."""


def reduce_dimensions(folder: RunFolder, config: Config) -> Reduction:
    """Embed the features (UMAP) and check trustworthiness."""

    def compute() -> None:
        matrix = folder.load_array(FEATURES, "01_exploration")
        _require_rows(len(matrix), config)
        with folder.timed("reduce"):
            result = reduce.embed(matrix, config.reduce, backend_for(config), seed=config.seed)
        folder.save_array(EMBEDDING, result.coords)
        folder.save_array(FIT_INDEX, result.fit_index)
        if config.reduce.null_sample is not None:
            with folder.timed("null_reduce"):
                shuffled, null_coords = reduce.null_table(matrix, config.reduce,
                                                          backend_for(config), seed=config.seed)
            folder.save_array(NULL_FEATURES, shuffled)
            folder.save_array(NULL_EMBEDDING, null_coords)
        folder.write_json(folder.artifact(EMBEDDING_INFO), {
            "trustworthiness": result.trustworthiness,
            "trust_sample_size": result.trust_sample_size,
        })

    _cached(folder, config, "reduce", {"features": folder.require(FEATURES, "01_exploration"),
                                       "reduce": config.reduce},
            (EMBEDDING, FIT_INDEX, EMBEDDING_INFO)
            + ((NULL_FEATURES, NULL_EMBEDDING) if config.reduce.null_sample is not None else ()),
            compute)
    info = json.loads(folder.require(EMBEDDING_INFO, "02_dimensionality_reduction").read_text())
    embedding = reduce.Embedding(
        coords=folder.load_array(EMBEDDING, "02_dimensionality_reduction"),
        fit_index=folder.load_array(FIT_INDEX, "02_dimensionality_reduction"),
        trustworthiness=info["trustworthiness"], trust_sample_size=info["trust_sample_size"],
    )
    folder.record_metrics(trustworthiness=embedding.trustworthiness)
    truth = known_segments(folder)
    title = "Embedding" + (" (colour: known segments)" if truth is not None else "")
    figure = plots.embedding_map(embedding.coords, truth, title=title, seed=config.seed)
    return Reduction(embedding, folder.save_figure(figure, "embedding"))


def _require_rows(n_rows: int, config: Config) -> None:
    """UMAP's spectral start needs more rows than ``n_components + 1``: say so as a data error."""
    needed = config.reduce.n_components + 2
    if config.reduce.method == "umap" and n_rows < needed:
        raise DataError(f"{n_rows} customers are too few to embed in reduce.n_components="
                        f"{config.reduce.n_components} dimensions: UMAP needs at least {needed} "
                        "rows; use a larger table or lower reduce.n_components")


# -- 03 eps search ----------------------------------------------------------------------------
@dataclass(frozen=True)
class EpsSearch:
    choice: eps.EpsChoice
    eps: float
    """The knee: notebook 04 clusters with it unless its own ``cluster.eps`` is set."""
    figure: Figure


def search_eps(folder: RunFolder, config: Config) -> EpsSearch:
    """k-distance curve on the embedding, its knee and the band where the knee is stable.

    The curve's k is ``cluster.min_samples`` (else the default tied to the embedding): the only
    ``cluster`` key this stage reads. Notebook 04 decides what it clusters with.
    """
    coords = folder.load_array(EMBEDDING, "02_dimensionality_reduction")
    min_samples = config.cluster.min_samples or eps.default_min_samples(config.reduce, len(coords))

    def compute() -> None:
        with folder.timed("eps"):
            found = eps.choose_eps(coords, min_samples, config.eps, backend_for(config))
        folder.write_json(folder.artifact(KNEE), asdict(found))

    _cached(folder, config, "eps", {"embedding": folder.artifact(EMBEDDING),
                                    "min_samples": min_samples, "eps": config.eps},
            (KNEE,), compute)
    knee = json.loads(folder.require(KNEE, "03_eps_search").read_text())
    choice = eps.EpsChoice(**{**knee, "curve": np.asarray(knee["curve"]),
                              "positions": np.asarray(knee["positions"])})
    folder.write_json(
        folder.artifact(EPS),
        {
            "knee_eps": choice.eps,
            "eps_low": choice.eps_low,
            "eps_high": choice.eps_high,
            "min_samples": min_samples,
        },
    )
    folder.record_metrics(eps_low=choice.eps_low, eps_high=choice.eps_high)
    figure = plots.k_distance(choice.curve, choice.positions, k=choice.k, eps=choice.eps,
                              eps_low=choice.eps_low, eps_high=choice.eps_high,
                              knee_position=choice.knee_position)
    return EpsSearch(choice, choice.eps, folder.save_figure(figure, "k_distance"))


# -- 04 clustering --------------------------------------------------------------------------
@dataclass(frozen=True)
class ClusteringOutcome:
    clustering: clustering.Clustering
    warnings: list[str]
    scores: dict[str, Any]
    comparison: pd.DataFrame
    """``auto``: every candidate with its scores; otherwise the baselines."""
    figures: dict[str, Figure]
    """The segments in the embedding, and the silhouette plot (when there are 2+ segments)."""
    verdict: verdict.Verdict | None
    """``auto`` only: ``clear``/``weak``/``none``, why, and the sentence the report opens with."""
    settings: dict[str, Any] = field(default_factory=dict)
    """What was clustered with and where it came from (:func:`decide_density`, or the model
    selection's choice)."""


def cluster_customers(folder: RunFolder, config: Config) -> ClusteringOutcome:
    """Cluster the embedding, score it, write ``labels.parquet``.

    ``cluster.algorithm: auto`` evaluates the candidate set, picks one by the rule of
    :mod:`seglab.selection` and judges it (:mod:`seglab.verdict`); any other algorithm runs as
    configured and is compared with the baselines.
    """
    coords = folder.load_array(EMBEDDING, "02_dimensionality_reduction")
    matrix = folder.load_array(FEATURES, "01_exploration")
    ids = pd.read_parquet(folder.require(CUSTOMERS, "01_exploration"),
                          columns=[config.data.id_column])[config.data.id_column]
    truth = known_segments(folder)
    backend = backend_for(config)

    judged = None
    if config.cluster.algorithm == "auto":
        result, baselines, judged = _select_clustering(folder, config, coords, matrix, backend)
        density = {**result.params, "source": "model selection"}
        found = []  # the verdict opens notebook 04's output, the report and the CLI summary
    else:
        density = decide_density(folder, config, len(coords))
        folder.record_metrics(eps=density["eps"], eps_low=density["eps_low"],
                              eps_high=density["eps_high"], min_samples=density["min_samples"])
        settings = _cluster_settings(config, density, len(coords))
        with folder.timed("cluster"):
            result = clustering.cluster(coords, config.cluster.algorithm, backend, **settings)
        found = clustering.density_warnings(result)
        baselines = compare_baselines(coords, result, config.cluster, config.metrics, backend,
                                      settings, truth, seed=config.seed)
        folder.record_metrics(verdict=None, selected=None, n_candidates=None)
    folder.write_json(folder.artifact(CLUSTER_SETTINGS), density)
    for message in found:
        warnings.warn(message, stacklevel=2)
    with folder.timed("metrics"):
        scores, sample = metrics.score(coords, matrix, result.labels, backend, config.metrics,
                                       truth=truth, seed=config.seed)

    labels = pd.DataFrame({config.data.id_column: ids, "cluster": result.labels})
    labels.to_parquet(folder.labels, index=False)
    folder.write_json(folder.artifact(BASELINES), {"rows": baselines.to_dict(orient="records")})
    folder.record_metrics(**scores)
    _update_manifest(folder, warnings=found)
    figures = _cluster_figures(folder, config, result, coords, scores, sample)
    return ClusteringOutcome(result, found, scores, baselines, figures, judged, density)


def _select_clustering(folder: RunFolder, config: Config, coords: np.ndarray, matrix: np.ndarray,
                       backend: Backend,
                       ) -> tuple[clustering.Clustering, pd.DataFrame, verdict.Verdict]:
    """Model selection on a sample of the embedding, labels for every row, the verdict.

    Writes ``candidates.parquet`` (every candidate with its scores), ``selection.json`` (the
    choice, the rule's branch and the verdict) and ``stability.json``; records ``verdict``,
    ``selected``, ``n_candidates``, ``stability_ari`` and the chosen DBSCAN's eps/min_samples.
    Returns the clustering, the candidate table and the verdict.
    """
    fit_index = folder.load_array(FIT_INDEX, "02_dimensionality_reduction")
    rng = np.random.default_rng(config.seed)
    pool = fit_index if len(fit_index) >= min(config.cluster.select_sample, len(coords)) \
        else np.arange(len(coords))
    sample = (np.sort(rng.choice(pool, size=config.cluster.select_sample, replace=False))
              if len(pool) > config.cluster.select_sample else np.sort(pool))
    settings = selection.SearchSettings(
        min_samples=config.cluster.min_samples or eps.default_min_samples(config.reduce, len(sample)),
        min_cluster_size=config.cluster.min_cluster_size or max(10, len(sample) // 200),
        draws=config.cluster.selection_draws, seed=config.seed, quantiles=config.eps.quantiles)
    start = time.perf_counter()
    with folder.timed("cluster"):
        chosen_set = selection.select(coords[sample], matrix[sample], backend, settings)
        labels = selection.extend_labels(coords, sample, chosen_set.chosen.candidate.labels, backend)
    null = None
    if config.reduce.null_sample is not None:
        with folder.timed("null"):
            null = verdict.null_reference(
                folder.load_array(NULL_FEATURES, "02_dimensionality_reduction"),
                folder.load_array(NULL_EMBEDDING, "02_dimensionality_reduction"), backend,
                settings)
    judged = verdict.judge(chosen_set.chosen, null,
                           verdict.restated_columns(labels, level_codes(folder)))
    chosen = chosen_set.chosen
    table = chosen_set.table()
    table.to_parquet(folder.artifact(CANDIDATES), index=False)
    folder.write_json(folder.artifact(SELECTION), {
        "selected": selection.describe(chosen), "rule": chosen_set.reason,
        "sample_size": len(sample), "verdict": judged.to_dict(),
    })
    draws = chosen.stability_draws
    folder.write_json(folder.artifact(STABILITY), {
        "algorithm": chosen.candidate.algorithm, "source": "model selection",
        "mean": chosen.stability, "low": min(draws, default=None), "high": max(draws, default=None),
        "scores": list(draws), "draws": len(draws),
        "sample_size": max(2, int(selection.DRAW_FRACTION * len(sample))),
    })
    params = chosen.candidate.params
    folder.record_metrics(
        verdict=judged.level, selected=selection.describe(chosen), n_candidates=len(table),
        stability_ari=chosen.stability, min_samples=params.get("min_samples"),
        eps=params.get("eps"),
    )
    result = clustering.Clustering(algorithm=chosen.candidate.algorithm,
                                   labels=clustering.relabel_by_size(labels), core_mask=None,
                                   params=params, seconds=time.perf_counter() - start)
    shown = table[["candidate", "n_clusters", "noise_fraction", "largest_fraction",
                   "coverage_silhouette", "silhouette_features", "dbcv", "stability",
                   "admissible", "chosen"]]
    return result, shown, judged


def _cluster_figures(folder: RunFolder, config: Config, result: clustering.Clustering,
                     coords: np.ndarray, scores: dict[str, Any],
                     sample: metrics.SilhouetteSample) -> dict[str, Figure]:
    labels = result.labels
    title = f"{result.algorithm.upper()} segments in the embedding"
    figures = {"embedding_clusters": plots.embedding_map(coords, labels, title=title,
                                                          seed=config.seed)}
    if len(sample.values):  # the points the silhouette score was computed on
        figures["silhouette"] = plots.silhouette(sample.values, sample.labels,
                                                 mean=scores["silhouette"])
    return {name: folder.save_figure(figure, name) for name, figure in figures.items()}


def decide_density(folder: RunFolder, config: Config, n_rows: int) -> dict[str, Any]:
    """Notebook 04's own eps and min_samples, and where each came from.

    ``min_samples`` is ``cluster.min_samples``, else the default tied to the embedding; ``eps``
    is ``cluster.eps``, else the knee notebook 03 found on its k-distance curve. The knee
    belongs to the curve's k: when DBSCAN needs it and this ``min_samples`` differs from k, it
    is an error (re-run 03 with the same ``cluster.min_samples``), never a silent mismatch.
    """
    min_samples = config.cluster.min_samples or eps.default_min_samples(config.reduce, n_rows)
    curve = folder.read_json(folder.artifact(EPS))
    runs_dbscan = "dbscan" in (config.cluster.algorithm, *config.cluster.baselines)
    chosen, source = config.cluster.eps, "cluster.eps"
    if chosen is None:
        knee_usable = curve.get("min_samples") == min_samples and "knee_eps" in curve
        if runs_dbscan and not curve:
            folder.require(EPS, "03_eps_search")
        if runs_dbscan and not knee_usable:
            raise SeglabError(
                f"04_clustering: min_samples {min_samples} differs from the k-distance curve's "
                f"k={curve.get('min_samples')}, so its knee is no eps for it: re-run notebook "
                "03_eps_search with the same cluster.min_samples (same run_dir), or set cluster.eps"
            )
        chosen, source = (curve["knee_eps"], "knee") if knee_usable else (None, None)
    return {"eps": chosen, "min_samples": min_samples, "source": source,
            "knee_eps": curve.get("knee_eps"), "eps_low": curve.get("eps_low"),
            "eps_high": curve.get("eps_high"), "curve_min_samples": curve.get("min_samples")}


def _cluster_settings(config: Config, chosen: dict[str, Any], n_rows: int) -> dict[str, Any]:
    return {
        "eps": chosen["eps"],
        "min_samples": chosen["min_samples"],
        "n_clusters": config.cluster.n_clusters,
        "min_cluster_size": config.cluster.min_cluster_size or max(10, n_rows // 200),
        "seed": config.seed,
    }


# -- 05 reporting --------------------------------------------------------------------------
def assess_stability(folder: RunFolder, config: Config) -> stability.Stability | None:
    """Re-cluster subsamples of the embedding with the run's settings; ARI with its labels.

    Writes ``stability.json`` (``{"skipped": true}`` when ``report.stability_draws`` is 0) and
    records ``stability_ari`` (the mean over draws) in ``metrics.json``.
    """
    if config.cluster.algorithm == "auto":  # measured per candidate by the model selection
        measured = folder.read_json(folder.artifact(STABILITY))
        return stability.Stability(measured["mean"], measured["low"], measured["high"],
                                   tuple(measured["scores"]), measured["sample_size"]) \
            if measured.get("mean") is not None else None
    coords = folder.load_array(EMBEDDING, "02_dimensionality_reduction")
    labels = run_labels(folder)
    chosen = json.loads(folder.require(CLUSTER_SETTINGS, "04_clustering").read_text())
    if config.report.stability_draws == 0:
        folder.write_json(folder.artifact(STABILITY), {"skipped": True})
        folder.record_metrics(stability_ari=None)
        return None
    algorithm, backend = config.cluster.algorithm, backend_for(config)
    settings = _cluster_settings(config, chosen, len(coords))
    size = stability.draw_size(len(coords), config.report.stability_sample)

    def recluster(rows: np.ndarray, draw: int) -> np.ndarray:
        adapted = stability.subsample_settings(algorithm, settings, size / len(coords),
                                               coords.shape[1], draw)
        return clustering.cluster(coords[rows], algorithm, backend, **adapted).labels

    with folder.timed("stability"):
        result = stability.subsample_ari(labels, recluster, draws=config.report.stability_draws,
                                         sample_size=size, seed=config.seed)
    folder.write_json(folder.artifact(STABILITY), {"algorithm": algorithm, **result.to_dict()})
    folder.record_metrics(stability_ari=result.mean)
    return result


@dataclass(frozen=True)
class Reporting:
    sizes: pd.DataFrame
    """Customers and share per segment (noise as -1), largest first."""
    profiles: pd.DataFrame
    """Standardised difference from all customers, per segment and column."""
    figure: Figure
    stability: stability.Stability | None
    html: str


def write_report(folder: RunFolder, config: Config) -> Reporting:
    """Segment sizes and profiles, stability across subsamples, and ``report.html``."""
    segments = read_segments(folder)  # the profile table and its statistics, read once
    gaps, sizes = segments.gaps, segments.sizes
    top = profiles.distinctive_columns(gaps, 3 * config.report.top_features)
    figure = plots.segment_profiles(gaps[top], sizes.set_index("segment")["share"])
    folder.save_figure(figure, "segment_profiles")
    assessed = assess_stability(folder, config)
    return Reporting(sizes, gaps, figure, assessed, build_report(folder, segments))


NOTEBOOK_STAGES: dict[str, Callable[[RunFolder, Config], Any]] = {
    "00_kernel_setup": check_environment,
    "01_exploration": explore,
    "02_dimensionality_reduction": reduce_dimensions,
    "03_eps_search": search_eps,
    "04_clustering": cluster_customers,
    "05_reporting": write_report,
}
"""The stage each notebook runs; the direct engine calls these without a kernel."""


# -- shared readers -----------------------------------------------------------------------------
def known_segments(folder: RunFolder) -> np.ndarray | None:
    """Ground-truth segments saved by 01, or ``None`` when the table has no label column."""
    customers = pd.read_parquet(folder.require(CUSTOMERS, "01_exploration"))
    return customers["truth"].to_numpy() if "truth" in customers else None


def level_codes(folder: RunFolder) -> dict[str, np.ndarray]:
    """Columns with few levels as level codes: each categorical input column (from its one-hot
    columns saved by 01) and each profile column with at most :data:`FEW_LEVELS` values (flags,
    codes such as a binary ``sex``): the columns segments could merely restate."""
    mapping = json.loads(folder.require(CATEGORICAL, "01_exploration").read_text())
    table = pd.read_parquet(folder.require(PROFILE_TABLE, "01_exploration"))
    onehots = {column for columns in mapping.values() for column in columns}
    codes = {name: table[columns].to_numpy().argmax(axis=1) for name, columns in mapping.items()}
    for name in table.columns.difference(sorted(onehots)):
        levels, inverse = np.unique(table[name].to_numpy(), return_inverse=True)
        if 2 <= len(levels) <= FEW_LEVELS:
            codes[name] = inverse
    return codes


# -- stage cache ----------------------------------------------------------------------------
def _cached(folder: RunFolder, config: Config, stage: str, reads: Mapping[str, Any],
            outputs: tuple[str, ...], compute: Callable[[], None]) -> None:
    """Run ``compute`` (it writes ``outputs`` into ``artifacts/``) unless the cache has them.

    Args:
        folder: the run folder.
        config: the run's config (its seed and backend are part of every key).
        stage: the cache's name for the stage.
        reads: what the outputs depend on: config sections and values, and input files (a
            ``Path`` stands for its content); a ``None`` value (data behind a URI) turns the
            cache off for this stage.
        outputs: the artifact names ``compute`` writes.
        compute: the stage's work.
    """
    store = cache.open_cache(folder.path.parent)
    if store is None or any(value is None for value in reads.values()):
        compute()
        outcome: dict[str, Any] = {"hit": False, "key": None}
    else:
        key = store.key(stage, {**reads, "seed": config.seed, "backend": config.backend})
        outcome = {"hit": store.fetch_or_compute(stage, key, folder.artifacts, outputs, compute),
                   "key": key}
    _update_manifest(folder, cache={**folder.read_json(folder.manifest).get("cache", {}),
                                    stage: outcome})


# -- manifest helpers -----------------------------------------------------------------------
def _update_manifest(folder: RunFolder, **facts: Any) -> None:
    folder.write_json(folder.manifest, {**folder.read_json(folder.manifest), **facts})
