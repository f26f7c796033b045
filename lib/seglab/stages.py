"""One function per notebook: read the run folder, do the stage's work, write its outputs.

Notebooks (and any other driver) call these in order; nothing passes between them but files in
the run folder. Each function returns what its notebook shows.

This module only wires: the files come from the catalog (:mod:`seglab.artifacts`), the work
from the stage modules, and the expensive stages (feature preparation, UMAP, the k-distance
knee) go through the stage cache (:mod:`seglab.stage_cache`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from seglab import cluster as clustering
from seglab import (
    data,
    environment,
    eps,
    features,
    metrics,
    placement,
    plots,
    profiles,
    reduce,
    selection,
    stability,
    verdict,
    weekly,
)
from seglab.artifacts import (
    BASE_PARAMS,
    BASELINES,
    CANDIDATES,
    CANDIDATES_SHOWN,
    CATEGORICAL,
    CLUSTER_SETTINGS,
    CLUSTERING,
    CORE_DISTANCES,
    CUSTOMERS,
    EMBEDDING,
    EMBEDDING_INFO,
    EPS,
    EPS_SEARCH,
    EVALUATED,
    EVALUATED_LABELS,
    EXPLORATION,
    FEATURE_INFO,
    FEATURE_MODEL,
    FEATURES,
    FIT_INDEX,
    KERNEL_SETUP,
    KNEE,
    LAYERS,
    NULL_EMBEDDING,
    NULL_FEATURES,
    NULL_SCORE,
    PCA_VARIANCE,
    PLACEMENT,
    PROFILE_STATS,
    PROFILE_TABLE,
    REDUCTION,
    REFERENCE_ROWS,
    REPORTING,
    SEGMENT_NAMES,
    SELECTION,
    STABILITY,
    TREE_EDGES,
    known_segments,
    run_labels,
)
from seglab.backend import Backend, get_backend
from seglab.backend import resolve as resolve_backend
from seglab.backend.density import SpanningTree
from seglab.baselines import compare_baselines
from seglab.config import Config, load_config, merge_sections, save_config, validate_config
from seglab.density_settings import DensitySettings
from seglab.errors import DataError, SeglabError
from seglab.feature_transform import FeatureTransform
from seglab.intake import InputSchema
from seglab.kinds import TableKinds
from seglab.names import names_from_json
from seglab.paths import DEFAULT_PARAMS, resolve, resolve_uri
from seglab.report import build_report, read_segments
from seglab.runfolder import RunFolder, atomic_write_text
from seglab.stage_cache import through_cache


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
    base_path = BASE_PARAMS.path(folder)
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
        folder.update_manifest(backend={"requested": resolution.requested,
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
    validates the customer table on first access (a notebook's display cells need it). After a
    miss, ``table`` is the one the stage loaded.
    """

    def __init__(self, folder: RunFolder, config: Config, pca_raw: pd.DataFrame,
                 pca_figure: Figure, table: data.CustomerTable | None = None) -> None:
        self._folder, self._config = folder, config
        self.pca_raw = pca_raw
        """Explained variance of PCA on the standardised input columns (why PCA alone is not enough)."""
        self.pca_figure = pca_figure
        if table is not None:
            self.table = table

    @cached_property
    def table(self) -> data.CustomerTable:
        return _load_table(self._config)

    @cached_property
    def feature_set(self) -> features.FeatureSet:
        info = FEATURE_INFO.read(self._folder)
        return features.FeatureSet(matrix=FEATURES.read(self._folder), names=info["names"],
                                   dropped=info["dropped"], n_features_in=info["n_features_in"],
                                   transforms=info["transforms"],
                                   kinds=TableKinds.from_dict(info["kinds"]),
                                   transform=FeatureTransform.from_dict(
                                       FEATURE_MODEL.read(self._folder)["transform"]))


def explore(folder: RunFolder, config: Config) -> Exploration:
    """Load and validate the table, select and scale features; write them for the next stages."""
    source = resolve_uri(config.data.path)
    loaded: list[data.CustomerTable] = []

    def compute() -> None:
        with folder.timed("load"):
            table = _load_table(config)
        loaded.append(table)
        _require_rows(table.n_rows, config)
        with folder.timed("features"):
            feature_set = features.build_features(
                table.features,
                config.features,
                seed=config.seed,
                categorical=table.categorical_columns,
                kinds=table.column_kinds(config.features, seed=config.seed),
            )
        _write_exploration(folder, config, table, feature_set)

    local = None if "://" in source else Path(source)
    through_cache(folder, config, EXPLORATION, {"data": local, "data_config": config.data,
                                                "features": config.features},
                  (FEATURES, FEATURE_INFO, FEATURE_MODEL, CUSTOMERS, PROFILE_TABLE, PROFILE_STATS,
                   CATEGORICAL, PCA_VARIANCE), compute)
    info = FEATURE_INFO.read(folder)
    folder.record_metrics(
        n_rows=info["n_rows"],
        n_features_in=info["columns_in"] - 1 - (config.data.label_column is not None),
        n_features_used=len(info["names"]),
    )
    folder.update_manifest(data_fingerprint=info["fingerprint"], data_path=config.data.path)
    pca_raw = PCA_VARIANCE.read(folder)
    figure = folder.save_figure(plots.pca_variance(pca_raw), "pca_variance")
    return Exploration(folder, config, pca_raw, figure, *loaded)


def _load_table(config: Config) -> data.CustomerTable:
    """The customer table, read by the backend (the GPU decodes Parquet) and validated."""
    return data.load_customers(config.data, resolve_uri(config.data.path),
                               reader=backend_for(config).read_table)


def _write_exploration(folder: RunFolder, config: Config, table: data.CustomerTable,
                       feature_set: features.FeatureSet) -> None:
    """The outputs of 01: features, their description, ids (and truth), profile columns, PCA."""
    FEATURES.write(folder, feature_set.matrix)
    FEATURE_INFO.write(folder, {
        "names": feature_set.names, "dropped": feature_set.dropped,
        "transforms": feature_set.transforms, "kinds": feature_set.kinds.to_dict(),
        "n_features_in": feature_set.n_features_in, "columns_in": table.report.columns_in,
        "n_rows": len(table.ids), "fingerprint": table.fingerprint, "data": table.report.to_dict(),
    })
    schema = InputSchema.from_table(table, config.data.id_column,
                                    feature_set.transform.input_columns(), config.data.label_column)
    FEATURE_MODEL.write(folder, {"schema": schema.to_dict(),
                                 "transform": feature_set.transform.to_dict()})
    profile_columns = profiles.profile_columns(table.features, feature_set.kinds.of("basket"))
    categorical = {source: [column for column in columns if column in profile_columns]
                   for source, columns in table.categorical_columns.items()}
    CATEGORICAL.write(folder, {source: columns for source, columns in categorical.items()
                               if columns})
    customers = pd.DataFrame({config.data.id_column: table.ids})
    if table.truth is not None:
        customers["truth"] = table.truth
    CUSTOMERS.write(folder, customers)
    profile_table = table.features[profile_columns]
    basket = feature_set.kinds.of("basket")
    if basket:
        name = features.free_name(features.BASKET_SIZE, table.features.columns)
        profile_table = profile_table.assign(**{name: features.basket_size(table.features, basket)})
    PROFILE_TABLE.write(folder, profile_table)
    PROFILE_STATS.write(folder, profiles.population_stats(profile_table).to_dict())
    PCA_VARIANCE.write(folder, features.raw_pca_variance(table.features,
                                                         config.features.stats_sample, config.seed))


# -- 02 dimensionality reduction ------------------------------------------------------------
@dataclass(frozen=True)
class Reduction:
    embedding: reduce.Embedding
    figure: Figure
    """The embedding, coloured by the known segments when the table has them."""


def reduce_dimensions(folder: RunFolder, config: Config) -> Reduction:
    """Embed the features (UMAP) and check trustworthiness."""
    with_null = config.reduce.null_sample is not None

    def compute() -> None:
        matrix = FEATURES.read(folder)
        _require_rows(len(matrix), config)
        with folder.timed("reduce"):
            result = reduce.embed(matrix, config.reduce, backend_for(config), seed=config.seed)
        EMBEDDING.write(folder, result.coords)
        FIT_INDEX.write(folder, result.fit_index)
        if with_null:
            with folder.timed("null_reduce"):
                shuffled, null_coords = reduce.null_table(matrix, config.reduce,
                                                          backend_for(config), seed=config.seed)
            NULL_FEATURES.write(folder, shuffled)
            NULL_EMBEDDING.write(folder, null_coords)
        EMBEDDING_INFO.write(folder, {"trustworthiness": result.trustworthiness,
                                      "trust_sample_size": result.trust_sample_size})

    through_cache(folder, config, REDUCTION, {"features": FEATURES.require(folder),
                                              "reduce": config.reduce},
                  (EMBEDDING, FIT_INDEX, EMBEDDING_INFO)
                  + ((NULL_FEATURES, NULL_EMBEDDING) if with_null else ()), compute)
    info = EMBEDDING_INFO.read(folder)
    embedding = reduce.Embedding(coords=EMBEDDING.read(folder), fit_index=FIT_INDEX.read(folder),
                                 trustworthiness=info["trustworthiness"],
                                 trust_sample_size=info["trust_sample_size"])
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
    coords = EMBEDDING.read(folder)
    min_samples = config.cluster.min_samples or eps.default_min_samples(config.reduce, len(coords))

    def compute() -> None:
        with folder.timed("eps"):
            found = eps.choose_eps(coords, min_samples, config.eps, backend_for(config))
        KNEE.write(folder, asdict(found))

    through_cache(folder, config, EPS_SEARCH, {"embedding": EMBEDDING.path(folder),
                                               "min_samples": min_samples, "eps": config.eps},
                  (KNEE,), compute)
    knee = KNEE.read(folder)
    choice = eps.EpsChoice(**{**knee, "curve": np.asarray(knee["curve"]),
                              "positions": np.asarray(knee["positions"])})
    EPS.write(folder, {"knee_eps": choice.eps, "eps_low": choice.eps_low,
                       "eps_high": choice.eps_high, "min_samples": min_samples})
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
    """What was clustered with and where it came from (:class:`DensitySettings`, or the model
    selection's choice)."""
    groups: np.ndarray | None = None
    """``auto``: each customer's group (the coarser layer the segments nest in), if any."""
    layers: list[dict[str, Any]] = field(default_factory=list)
    """``auto``: the kept layers of the density hierarchy, coarsest first, with their role."""


def cluster_customers(folder: RunFolder, config: Config) -> ClusteringOutcome:
    """Cluster the embedding, score it, write ``labels.parquet``.

    ``cluster.algorithm: auto`` evaluates the candidate set, picks one by the rule of
    :mod:`seglab.selection` and judges it (:mod:`seglab.verdict`); any other algorithm runs as
    configured and is compared with the baselines.
    """
    coords = EMBEDDING.read(folder)
    matrix = FEATURES.read(folder)
    customers = CUSTOMERS.read(folder)
    ids, truth = customers[config.data.id_column], known_segments(folder, customers)
    backend = backend_for(config)

    judged = None
    if config.cluster.algorithm == "auto":
        result, baselines, judged, levels = _select_clustering(folder, config, coords, matrix,
                                                               backend)
        groups = levels.groups
        LAYERS.write(folder, pd.DataFrame({config.data.id_column: ids, **{
            f"layer_{at}": labels for at, labels in enumerate(levels.layers)}}))
        used = {**result.params, "source": "model selection"}
        found = []  # the verdict opens notebook 04's output, the report and the CLI summary
    else:
        REFERENCE_ROWS.write(folder, FIT_INDEX.read(folder))
        settings = DensitySettings.decide(config.cluster, config.reduce,
                                          EPS.read_if_present(folder), len(coords), config.seed)
        used = settings.to_dict()
        folder.record_metrics(eps=settings.eps, eps_low=settings.eps_low,
                              eps_high=settings.eps_high, min_samples=settings.min_samples)
        with folder.timed("cluster"):
            if config.cluster.algorithm == "dbscan" and _cuts_trees(config):
                tree = _density_tree(folder, config, coords, settings.min_samples)
                result = clustering.cut(tree, settings.eps)
            else:
                result = clustering.cluster(coords, config.cluster.algorithm, backend,
                                            **settings.algorithm_settings())
        found = clustering.density_warnings(result)
        baselines = compare_baselines(coords, result, config.cluster, config.metrics, backend,
                                      settings, truth, seed=config.seed)
        groups = None
        folder.record_metrics(verdict=None, selected=None, n_candidates=None, n_layers=None,
                              n_groups=None)
    CLUSTER_SETTINGS.write(folder, used)
    for message in found:
        warnings.warn(message, stacklevel=2)
    with folder.timed("metrics"):
        scores, sample = metrics.score(coords, matrix, result.labels, backend, config.metrics,
                                       truth=truth, seed=config.seed)

    labels = pd.DataFrame({config.data.id_column: ids, "cluster": result.labels})
    if groups is not None:
        labels["group"] = groups
    labels.to_parquet(folder.labels, index=False)
    reference = REFERENCE_ROWS.read(folder)
    PLACEMENT.write(folder, placement.fit_typicality(matrix[reference],
                                                     result.labels[reference]).to_dict())
    BASELINES.write(folder, {"rows": baselines.to_dict(orient="records")})
    folder.record_metrics(**scores)
    names = _carried_names(folder, config, pd.Series(result.labels, index=pd.Index(ids)), found)
    folder.update_manifest(warnings=found)
    figures = _cluster_figures(folder, config, result, groups, coords, scores, sample, names)
    return ClusteringOutcome(result, found, scores, baselines, figures, judged, used, groups,
                             SELECTION.read_if_present(folder).get("layers", []))


def _carried_names(folder: RunFolder, config: Config, labels: pd.Series,
                   found: list[str]) -> dict[int, dict[str, Any]] | None:
    """``report.previous_run``: the names and colours carried over from that run, written to
    ``segment_names.json`` (a warning joins ``found`` when none could be); else ``None``."""
    if config.report.previous_run is None:
        return None
    previous = weekly.read_run(resolve(config.report.previous_run))
    names, warning = weekly.carried_names(previous, labels, config.compare)
    SEGMENT_NAMES.write(folder, {str(segment): entry for segment, entry in names.items()})
    if warning:
        warnings.warn(warning, stacklevel=2)
        found.append(warning)
    return names


def _cuts_trees(config: Config) -> bool:
    """Whether DBSCAN is a cut of a stored density tree (the CPU's ``cluster.dbscan: tree``)."""
    return config.cluster.dbscan == "tree" and config.backend == "cpu"


def _density_tree(folder: RunFolder, config: Config, coords: np.ndarray,
                  min_samples: int) -> SpanningTree:
    """The embedding's density tree at ``min_samples``: stored in the run folder and cached per
    embedding and ``min_samples``, so a sweep over eps fits it once."""
    def compute() -> None:
        tree = SpanningTree(coords, min_samples)
        TREE_EDGES.write(folder, tree.edges.astype(np.float32))
        CORE_DISTANCES.write(folder, tree.core_distances.astype(np.float32))

    through_cache(folder, config, CLUSTERING, {"embedding": EMBEDDING.path(folder),
                                               "min_samples": min_samples},
                  (TREE_EDGES, CORE_DISTANCES), compute)
    return SpanningTree.restore(coords, min_samples, TREE_EDGES.read(folder),
                                CORE_DISTANCES.read(folder))


def _select_clustering(folder: RunFolder, config: Config, coords: np.ndarray, matrix: np.ndarray,
                       backend: Backend) -> tuple[clustering.Clustering, pd.DataFrame,
                                                  verdict.Verdict, selection.Levels]:
    """Model selection on a sample of the embedding, labels for every row, the verdict.

    Writes ``candidates.parquet``, ``layers.parquet``, ``selection.json`` and
    ``stability.json``; records ``verdict``, ``selected``, ``n_candidates``, ``n_layers``,
    ``n_groups``, ``stability_ari`` and the chosen DBSCAN's eps/min_samples. Returns the
    clustering, the candidates as shown, the verdict and every row's segment, group and layers.
    """
    sample = selection.sample_rows(FIT_INDEX.read(folder), len(coords),
                                   config.cluster.select_sample, config.seed)
    REFERENCE_ROWS.write(folder, sample)
    settings = selection.SearchSettings.for_sample(config.cluster, config.reduce, config.eps,
                                                   len(sample), config.seed)
    start = time.perf_counter()

    def compute() -> None:
        scored = selection.evaluate(coords[sample], matrix[sample], backend, settings)
        EVALUATED.write(folder, selection.scored_frame(scored))
        EVALUATED_LABELS.write(folder, np.stack([item.candidate.labels for item in scored]))
        null = None if config.reduce.null_sample is None else verdict.null_reference(
            NULL_FEATURES.read(folder), NULL_EMBEDDING.read(folder), backend, settings)
        NULL_SCORE.write(folder, asdict(null) if null else {})

    with folder.timed("cluster"):
        through_cache(folder, config, CLUSTERING, {
            "embedding": EMBEDDING.path(folder), "features": FEATURES.path(folder),
            "fit_index": FIT_INDEX.path(folder), "settings": asdict(settings),
            "sample_rows": len(sample), "null_sample": config.reduce.null_sample,
            "null_embedding": NULL_EMBEDDING.path(folder)
            if config.reduce.null_sample is not None else "none",
        }, (EVALUATED, EVALUATED_LABELS, NULL_SCORE), compute)
    scored = selection.scored_from(EVALUATED.read(folder), EVALUATED_LABELS.read(folder))
    saved_null = NULL_SCORE.read(folder)
    null = verdict.NullScore(**saved_null) if saved_null else None
    chosen_set = selection.choose(scored, null_score=null.coverage_silhouette if null else None,
                                  layer=config.cluster.layer,
                                  tolerance=config.cluster.resolution_tolerance)
    levels = selection.label_levels(coords, sample, chosen_set, backend)
    codes = verdict.level_codes(CATEGORICAL.read(folder), PROFILE_TABLE.read(folder))
    judged = verdict.judge(chosen_set.chosen, null, verdict.restated_columns(levels.segments, codes))
    groups_judged = (verdict.judge(chosen_set.groups, null,
                                   verdict.restated_columns(levels.groups, codes))
                     if chosen_set.groups is not None and levels.groups is not None else None)
    chosen = chosen_set.chosen
    table = chosen_set.table()
    CANDIDATES.write(folder, table)
    SELECTION.write(folder, {"selected": selection.describe(chosen), "rule": chosen_set.reason,
                             "margin": chosen_set.margin, "sample_size": len(sample),
                             "layers": selection.layer_records(chosen_set),
                             "verdict": judged.to_dict(),
                             "groups_verdict": groups_judged.to_dict() if groups_judged else None})
    STABILITY.write(folder, chosen_set.stability_record(len(sample)))
    params = chosen.candidate.params
    folder.record_metrics(
        verdict=judged.level, selected=selection.describe(chosen), n_candidates=len(table),
        selection_margin=chosen_set.margin, stability_ari=chosen.stability,
        n_layers=len(chosen_set.layers),
        n_groups=None if levels.groups is None else int(levels.groups.max(initial=-1) + 1),
        min_samples=params.get("min_samples"), eps=params.get("eps"),
    )
    result = clustering.Clustering(algorithm=chosen.candidate.algorithm, labels=levels.segments,
                                   core_mask=None, params=params,
                                   seconds=time.perf_counter() - start)
    return result, table[list(CANDIDATES_SHOWN)], judged, levels


def _cluster_figures(folder: RunFolder, config: Config, result: clustering.Clustering,
                     groups: np.ndarray | None, coords: np.ndarray, scores: dict[str, Any],
                     sample: metrics.SilhouetteSample,
                     names: dict[int, dict[str, Any]] | None) -> dict[str, Figure]:
    labels = result.labels
    title = f"{result.algorithm.upper()} segments in the embedding"
    figures = {"embedding_clusters": plots.embedding_map(coords, labels, title=title,
                                                          seed=config.seed, names=names)}
    if groups is not None:
        figures["hierarchy"] = plots.hierarchy(labels, groups, names)
    if len(sample.values):  # the points the silhouette score was computed on
        figures["silhouette"] = plots.silhouette(sample.values, sample.labels,
                                                 mean=scores["silhouette"], names=names)
    return {name: folder.save_figure(figure, name) for name, figure in figures.items()}


# -- 05 reporting --------------------------------------------------------------------------
def assess_stability(folder: RunFolder, config: Config) -> stability.Stability | None:
    """Re-cluster subsamples of the embedding with the run's settings; ARI with its labels.

    Writes ``stability.json`` (``{"skipped": true}`` when ``report.stability_draws`` is 0) and
    records ``stability_ari`` (the mean over draws) in ``metrics.json``.
    """
    if config.cluster.algorithm == "auto":  # measured per candidate by the model selection
        measured = STABILITY.read(folder)
        return stability.Stability(measured["mean"], measured["low"], measured["high"],
                                   tuple(measured["scores"]), measured["sample_size"]) \
            if measured.get("mean") is not None else None
    if config.report.stability_draws == 0:
        STABILITY.write(folder, {"skipped": True})
        folder.record_metrics(stability_ari=None)
        return None
    settings = DensitySettings(**CLUSTER_SETTINGS.read(folder))
    with folder.timed("stability"):
        result = stability.refit_ari(EMBEDDING.read(folder), run_labels(folder),
                                     config.cluster.algorithm, settings, backend_for(config),
                                     draws=config.report.stability_draws,
                                     sample_size=config.report.stability_sample, seed=config.seed)
    STABILITY.write(folder, {"algorithm": config.cluster.algorithm, **result.to_dict()})
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
    carried = names_from_json(SEGMENT_NAMES.read_if_present(folder))  # seglab run --previous
    figure = plots.segment_profiles(gaps[top], sizes.set_index("segment")["share"], carried)
    folder.save_figure(figure, "segment_profiles")
    assessed = assess_stability(folder, config)
    return Reporting(sizes, gaps, figure, assessed, build_report(folder, segments))


NOTEBOOK_STAGES: dict[str, Callable[[RunFolder, Config], Any]] = {
    KERNEL_SETUP: check_environment,
    EXPLORATION: explore,
    REDUCTION: reduce_dimensions,
    EPS_SEARCH: search_eps,
    CLUSTERING: cluster_customers,
    REPORTING: write_report,
}
"""The stage each notebook runs; the direct engine calls these without a kernel."""
