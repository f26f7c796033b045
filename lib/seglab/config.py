"""One typed configuration for a run: YAML in, dotted overrides, validated before any work.

Every section belongs to one pipeline stage (and one notebook). Unknown keys, wrong types and
impossible values raise :class:`~seglab.errors.ConfigError` with the dotted key named.

Example::

    cfg = load_config("params/default.yaml", overrides=["cluster.eps=0.3"])
    cfg.cluster.eps  # 0.3
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seglab.errors import ConfigError

MAX_YAML_VALUES = 10_000
"""A parameters file, section or ``--set`` value holds at most this many values, each use of a
YAML alias (``*name``) counted in full: a kilobyte of nested aliases ("billion laughs") would
otherwise expand to billions of values in validation and in error messages."""
ECHO_LIMIT = 80
"""An error message shows at most this many characters of a value the user gave."""


class _Section(BaseModel):
    """Strict base: unknown keys and type coercions (e.g. "3" for an int) are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True,
                              allow_inf_nan=False)


class DataConfig(_Section):
    """Where the customer table is and how to treat what breaks the input contract."""

    path: str = Field("data/customers.parquet", min_length=1)
    """CSV or Parquet; a path relative to the repository root, an absolute path or ``s3://``."""
    id_column: str = Field("customer_id", min_length=1)
    label_column: str | None = None
    """Ground-truth segment column, used only for ARI/AMI, never for fitting."""
    missing: Literal["impute", "drop", "error"] = "impute"
    """Missing values (and infinities): median/mode imputation, drop the row, or stop."""
    duplicate_ids: Literal["keep_first", "drop", "error"] = "keep_first"
    """Rows sharing an id: keep the first, drop all of them, or stop."""
    non_numeric: Literal["coerce", "error"] = "coerce"
    """Junk text in a mostly numeric column: turn it into a missing value, or stop."""
    categorical: Literal["onehot", "drop"] = "onehot"
    max_categories: int = Field(50, ge=2)
    """A categorical column with more levels than this is dropped (with a message)."""
    constant: Literal["drop", "error"] = "drop"


class FeaturesConfig(_Section):
    """Feature selection and scaling ahead of the embedding."""

    exclude: list[str] = Field(default_factory=list)
    """Columns (glob patterns) never used as features."""
    count_columns: list[str] = Field(default_factory=list)
    """Glob patterns of purchase-count columns (a basket block), turned into smoothed shares and
    compressed. Not needed in general: a block of sparse counts is recognised from its values
    (``seglab.kinds``); this names columns outright."""
    kinds: dict[str, Literal["identifier", "binary", "count", "basket", "continuous"]] = Field(
        default_factory=dict)
    """Override the kind ``seglab.kinds`` decided for numeric columns: glob -> kind (the first
    matching glob wins), e.g. ``{"pixel_*": continuous}`` or ``{"legacy_no": identifier}``
    (dropped). ``seglab data check`` and notebook 01 show each decision and its evidence."""
    min_nonzero_fraction: float = Field(0.005, ge=0.0, lt=1.0)
    correlation_threshold: float = Field(0.95, gt=0.0, le=1.0)
    """Drop a numeric column whose |Spearman rho| with an earlier kept column is above this."""
    isolation_threshold: float | None = Field(0.1, ge=0.0, lt=1.0)
    """Drop a numeric column whose largest |rho| with every other column is below this
    (it shares no structure with anything: junk, e.g. a record year); ``null`` keeps them all.
    When every column is isolated (a table of independent columns) all are kept: the verdict
    then judges that table, instead of the filter leaving nothing to judge."""
    derived_tolerance: float | None = Field(1e-3, gt=0.0, lt=0.1)
    """Drop a positive numeric column that is the product or ratio of two other columns to
    within this relative error (``spend = n_orders * avg_order_value``): it adds nothing but
    the exact identity; ``null`` keeps them."""
    dequantize: bool = True
    """Add triangular noise on (-1, 1) to integer-valued columns (reflected at 0 when the column
    is non-negative), so neither ties nor density steps between integers tear the embedding."""
    log_skew_threshold: float = Field(1.0, ge=0.0)
    """log1p-transform non-negative columns whose skewness is above this."""
    scaling: Literal["standard", "robust"] = "standard"
    """Per-column scale: standard deviation, or interquartile range (``robust``: it blows up
    zero-inflated columns; without the shared scale digits fell from 0.82 to 0.59 ARI with it;
    on the defaults it costs 0.02-0.04 on three corpus tables, bench/ABLATION.md)."""
    shared_scale: bool = True
    """Columns on one shared integer scale (pixels, Likert items) keep their relative spread
    (``seglab.features.shared_scale_columns``)."""
    count_smoothing: float = Field(10.0, ge=0.0)
    count_components: int = Field(6, ge=1)
    count_weight: float = Field(0.5, ge=0.0)
    basket_size: bool = False
    """Embed each customer's items over the basket block as a numeric feature beside the
    shares. Off by default: the size is mostly how much a customer shops, not what; with it, a
    6-segment basket table fell from ARI 0.63 to 0.19 and ``holdings_wide`` from 0.97 to 0.84.
    The size is always in the segment profiles (``basket_size``)."""
    include_categorical: bool = False
    """Use categorical columns as features (one-hot, each column weighted as
    ``categorical_weight`` numeric columns). Off by default: measured on the corpus, UMAP puts
    every combination of levels on an island of its own (a telco-like table: 23-25 segments,
    ARI 0.22-0.38 against 0.65 without them). Categorical columns always shape the report (the
    mix of each segment) and the verdict (segments that restate one column are called so)."""
    categorical_weight: float = Field(1.0, ge=0.0)
    """Weight of one categorical column relative to one standardised numeric column."""
    pca_components: int | float | None = None
    """Optional PCA after scaling: a number of components, or a fraction of variance to keep."""
    stats_sample: int = Field(20_000, ge=100)
    """Rows used to estimate correlations and skewness."""

    @model_validator(mode="after")
    def _check_pca(self) -> FeaturesConfig:
        pca = self.pca_components
        if isinstance(pca, float) and not 0.0 < pca < 1.0:
            raise ValueError("pca_components as a float is a variance fraction in (0, 1)")
        if isinstance(pca, int) and pca < 1:
            raise ValueError("pca_components must be at least 1")
        return self


class ReduceConfig(_Section):
    """UMAP to a few dimensions; fitted on a sample of large tables."""

    method: Literal["umap", "none"] = "umap"
    n_components: int = Field(5, ge=2, le=20)
    """2 to 20: the exact DBSCAN package supports up to 20 dimensions."""
    n_neighbors: int = Field(30, ge=2, le=500)
    min_dist: float = Field(0.0, ge=0.0, le=1.0)
    n_epochs: int | None = Field(None, ge=10)
    """``null``: 50 when more than 10,000 rows are fitted, else umap-learn's own (500); the
    frontier measured in bench/UMAP.md."""
    fit_sample: int = Field(25_000, ge=100)
    """Tables larger than this: fit UMAP on this many rows and map the rest (bench/UMAP.md)."""
    map_rest: Literal["knn", "umap"] = "knn"
    """How rows beyond the fit sample are placed: kNN average in feature space, or UMAP's transform."""
    trust_sample: int = Field(5_000, ge=50, le=20_000)
    """Rows for trustworthiness (scikit-learn's builds an n x n matrix: capped)."""
    trust_neighbors: int = Field(15, ge=1)
    null_sample: int | None = Field(2_000, ge=100)
    """Rows of the null reference (the table with each column shuffled independently), embedded
    beside the real table for 04's verdict; ``null`` skips it (no null, no ``clear`` verdict
    against it)."""


class EpsConfig(_Section):
    """k-distance curve and knee."""

    quantiles: int = Field(1000, ge=20)
    """The sorted k-distance curve is summarised by this many quantiles before the knee search."""
    trim: float = Field(0.0, ge=0.0, lt=0.2)
    """Fraction of the largest k-distances (outliers) left out of the knee search."""
    band_tolerance: float = Field(0.05, gt=0.0, lt=1.0)
    """eps_low/eps_high: the range of eps whose cluster count stays that of the knee eps,
    searched within this relative distance of the knee's curve position."""


class ClusterConfig(_Section):
    """The clustering itself and its baselines."""

    algorithm: Literal["auto", "dbscan", "hdbscan", "kmeans", "gmm"] = "auto"
    """``auto``: model selection among DBSCAN, HDBSCAN and partition candidates with a verdict
    (lib/seglab/selection.py, docs/choosing_eps_and_min_samples.md); any other value runs exactly
    that algorithm."""
    eps: float | None = Field(None, gt=0.0)
    """DBSCAN radius; ``null`` = the knee of the k-distance curve (notebook 03)."""
    min_samples: int | None = Field(None, ge=2)
    """DBSCAN/HDBSCAN density; ``null`` = tied to the embedding (reduce.n_neighbors)."""
    dbscan: Literal["refit", "tree"] = "refit"
    """``algorithm: dbscan`` on the CPU: ``refit`` runs the backend's DBSCAN (the ``dbscan``
    package's grid DBSCAN) in every run; ``tree`` cuts a density tree fitted once per embedding
    and ``min_samples`` and cached, so a sweep over eps refits nothing and the core points are
    exact. The fit is slow at scale (1M rows, min_samples 400: 5 min, against 6 s for one
    refit): it pays from about 50 eps values per ``min_samples`` (bench/AGREEMENT.md). The GPU
    always runs cuML's DBSCAN."""
    n_clusters: int | None = Field(None, ge=2)
    """KMeans/GMM clusters; ``null`` = as many as DBSCAN found."""
    min_cluster_size: int | None = Field(None, ge=2)
    """HDBSCAN; ``null`` = 0.5 % of the rows, at least 10."""
    baselines: list[Literal["dbscan", "hdbscan", "kmeans", "gmm"]] = Field(
        default_factory=lambda: ["kmeans", "gmm", "hdbscan"]
    )
    layer: Literal["auto", "finest", "coarsest"] | Annotated[int, Field(ge=0)] = "auto"
    """``auto``: the kept layers of the density hierarchy (stable, above the shuffled-columns
    null) are ranked by coverage silhouette and the finest within ``resolution_tolerance`` of
    the best becomes the segments; ``finest``/``coarsest``, or a kept layer's index (0 = the
    coarsest, as in ``artifacts/layers.parquet``), choose one outright."""
    resolution_tolerance: float = Field(0.05, ge=0.0, le=1.0)
    """``layer: auto``: how far below the best kept layer's coverage silhouette a finer layer may
    score and still be chosen (chosen by leave-one-table-out over the labelled corpus,
    bench/LAYERS.md)."""
    select_sample: int = Field(20_000, ge=100)
    """``auto``: candidates are fitted and scored on at most this many embedded rows (fitted
    rows first); the other rows take the label their nearest sample rows vote for."""
    selection_draws: int = Field(3, ge=1, le=20)
    """``auto``: subsamples (80 %) refitted per candidate to measure its stability."""
    baseline_sample: int = Field(20_000, ge=100)
    """Baselines run on at most this many rows (their cost grows faster than DBSCAN's: at 50k
    rows scikit-learn's HDBSCAN alone took 9-16 s on 2 cores, at 20k 1.3 s)."""


class MetricsConfig(_Section):
    """Scores."""

    silhouette_sample: int = Field(5_000, ge=100, le=100_000)
    bootstrap: int = Field(500, ge=50)
    """Bootstrap resamples for the silhouette interval."""
    confidence: float = Field(0.95, gt=0.5, lt=1.0)


class ReportConfig(_Section):
    """The business report."""

    title: str = "Customer segments"
    top_features: int = Field(5, ge=1, le=20)
    stability_draws: int = Field(5, ge=0, le=50)
    """Subsamples re-clustered to measure stability (ARI with the run's labels); 0 = skip."""
    stability_sample: int = Field(20_000, ge=100, le=1_000_000)
    """Rows per stability subsample (at most 80 % of the table)."""
    previous_run: str | None = None
    """A finished run folder (``seglab run --previous RUN``): this run's segments that survive
    from it keep its names and colours (matched on the customers both runs hold, as
    ``seglab compare`` does); ``null``: segments are ``Segment <label>``."""


class CompareConfig(_Section):
    """``seglab compare``: when an overlap makes a transition, and when a column has drifted
    (:mod:`seglab.compare`, :mod:`seglab.drift`)."""

    core_share: float = Field(0.5, gt=0.0, le=1.0)
    """A segment survives when at least this share of its customers stays in its matched
    segment and at least this share of that segment comes from it; the parts of a split must
    each come mostly, by this share, from the split segment, and the sources of a merge must
    each go mostly to the merged one."""
    part_share: float = Field(0.2, gt=0.0, le=1.0)
    """The least share of a segment that makes a part of a split."""
    psi_bins: int = Field(10, ge=2, le=100)
    """Quantile bins of a numeric column for its population stability index."""
    psi_watch: float = Field(0.1, gt=0.0)
    """A column whose PSI reaches this is worth watching ..."""
    psi_alert: float = Field(0.25, gt=0.0)
    """... and has shifted at this."""
    top_columns: int = Field(5, ge=1, le=50)
    """Numeric columns (and categorical levels) shown per segment as those that moved most."""

    @model_validator(mode="after")
    def _check_order(self) -> CompareConfig:
        if self.part_share > self.core_share:
            raise ValueError(f"compare.part_share ({self.part_share}) must not exceed "
                             f"compare.core_share ({self.core_share})")
        if self.psi_watch >= self.psi_alert:
            raise ValueError(f"compare.psi_watch ({self.psi_watch}) must be below "
                             f"compare.psi_alert ({self.psi_alert})")
        return self


class TrackingConfig(_Section):
    """Where runs are recorded (the local store always records; others mirror it)."""

    backend: Literal["auto", "local", "sagemaker", "mlflow"] = "auto"
    s3_prefix: str | None = None
    """``s3://bucket/prefix``: artifacts are uploaded there for the SageMaker backend."""
    mlflow_uri: str | None = None


class Config(_Section):
    """A whole run's parameters."""

    experiment: str = Field("seglab", min_length=1, max_length=100)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    """NumPy's legacy generators (UMAP, scikit-learn) take seeds below 2**32."""
    backend: Literal["auto", "cpu", "gpu"] = "auto"
    data: DataConfig = Field(default_factory=DataConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    reduce: ReduceConfig = Field(default_factory=ReduceConfig)
    eps: EpsConfig = Field(default_factory=EpsConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    compare: CompareConfig = Field(default_factory=CompareConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)

    @model_validator(mode="after")
    def _check_cross_section(self) -> Config:
        if self.reduce.fit_sample <= self.reduce.n_neighbors:
            raise ValueError(
                f"reduce.fit_sample ({self.reduce.fit_sample}) must exceed "
                f"reduce.n_neighbors ({self.reduce.n_neighbors})"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain data (YAML/JSON-safe), every key present."""
        return self.model_dump(mode="json")


SECTIONS: tuple[str, ...] = tuple(
    name
    for name, field in Config.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, _Section)
)
"""Names of the nested sections (``data``, ``features`` …), in pipeline order."""


def load_config(
    path: str | Path | None = None,
    overrides: Iterable[str] = (),
    sections: Mapping[str, Any] | None = None,
) -> Config:
    """Read a parameters file, apply overrides and validate.

    Args:
        path: YAML parameters file; ``None`` starts from the defaults.
        overrides: ``KEY=VALUE`` strings with a dotted key; values are parsed as YAML.
        sections: mapping of top-level key to a value (a section dict is merged key by key),
            as notebooks pass their papermill parameters; a section given as a JSON or YAML
            string (``-p cluster '{"eps": 0.2}'``) is parsed first.

    Returns:
        The validated config.

    Raises:
        ConfigError: naming the file, the dotted key and the problem.
    """
    source = str(path) if path is not None else "config"
    raw = merge_sections(_read_yaml(Path(path)) if path is not None else {}, sections or {})
    origins = {}
    for override in overrides:
        key, value = parse_override(override)
        _set_dotted(raw, key, value)
        origins[key] = override
    return validate_config(raw, source, origins)


def merge_sections(raw: Mapping[str, Any], sections: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` with each of ``sections`` applied: a section's mapping is merged key by key, a
    top-level value replaced; a section given as a string is read as YAML (JSON is YAML).

    Raises:
        ConfigError: a section string that is not valid YAML or not a mapping.
    """
    merged = dict(raw)
    for key, value in sections.items():
        if key in SECTIONS and isinstance(value, str):
            value = _parse_section(key, value)
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _parse_section(key: str, text: str) -> Any:
    example = f"""e.g. -p {key} '{{"eps": 0.2}}' or -y '{key}: {{eps: 0.2}}'"""
    try:
        value = load_yaml(text, key) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{key}: {_echo(text)} is not valid JSON or YAML "
                          f"({getattr(exc, 'problem', None) or exc}); "
                          f"pass a mapping, {example}") from None
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: {_echo(text)} is not a mapping of {key} keys; {example}")
    return value


def validate_config(raw: Mapping[str, Any], source: str = "config",
                    origins: Mapping[str, str] | None = None) -> Config:
    """Validate plain data into a :class:`Config`, or raise a one-line :class:`ConfigError`.

    Args:
        raw: the config as plain data.
        source: where it came from (a file name), named in the error.
        origins: dotted key -> the ``--set KEY=VALUE`` text that set it; an error about such a
            key names that ``--set`` instead of ``source``.
    """
    try:
        return Config.model_validate(dict(raw))
    except ValidationError as exc:
        problems, keys = [], []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            given = [text for name, text in (origins or {}).items()
                     if key == name or key.startswith(f"{name}.")]
            problems.append(f"--set {_cut(given[0])}: {_describe(error)}" if given
                            else f"{source}: {_describe(error)}")
            keys.append(key or "config")
        more = f"; {len(keys) - 1} more at {_cut(', '.join(keys[1:]))}" if len(keys) > 1 else ""
        raise ConfigError(problems[0] + more) from None  # one short line however many problems


def redacted(config: Config) -> Config:
    """A copy safe to record: credentials in ``tracking.mlflow_uri`` (``user:pass@``) masked."""
    uri = config.tracking.mlflow_uri
    if not uri or redact_uri(uri) == uri:
        return config
    tracking = config.tracking.model_copy(update={"mlflow_uri": redact_uri(uri)})
    return config.model_copy(update={"tracking": tracking})


def redact_uri(uri: str) -> str:
    """``https://user:secret@host/x`` -> ``https://***@host/x``; other text is unchanged."""
    scheme, sep, rest = uri.partition("://")
    authority, slash, path = rest.partition("/")
    if not sep or "@" not in authority:
        return uri
    return f"{scheme}://***@{authority.rsplit('@', 1)[1]}{slash}{path}"


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``cluster.eps=0.3`` into the dotted key and its YAML-parsed value."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {_echo(text)}: expected KEY=VALUE with a dotted key, e.g. cluster.eps=0.3")
    try:
        return key.strip(), load_yaml(value, f"--set {_echo(text)}") if value.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {_echo(text)}: value is not valid YAML ({exc.problem})") from None


def load_yaml(text: str, source: str) -> Any:
    """``yaml.safe_load(text)``, refusing a document of more than :data:`MAX_YAML_VALUES` values.

    Raises:
        yaml.YAMLError: not valid YAML.
        ConfigError: too many values once aliases are expanded, or an alias that holds itself.
    """
    data = yaml.safe_load(text)
    pending, counted = [data], 0
    while pending:
        node = pending.pop()
        counted += 1
        if counted > MAX_YAML_VALUES:
            raise ConfigError(f"{source}: more than {MAX_YAML_VALUES:,} values, counting each YAML "
                              "alias (*name) in full; write the values out instead of nesting aliases")
        if isinstance(node, dict):
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return data


def save_config(config: Config, path: str | Path) -> None:
    """Write the effective config as YAML (the run folder's ``params.yaml``)."""
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: parameters file not found (pass --params with an existing YAML file)")
    try:
        data = load_yaml(path.read_text(), str(path)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys at the top level")
    return data


def _set_dotted(raw: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = raw
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {'.'.join(parts[: depth + 1])} is not a section")
        node = child
    node[parts[-1]] = value


def _describe(error: Mapping[str, Any]) -> str:
    key = _cut(".".join(str(part) for part in error["loc"]) or "config")
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (check the spelling against params/default.yaml)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "value_error" and error["loc"] == ():
        return message
    value = error.get("input")
    shown = "" if isinstance(value, dict) else f" (got {_echo(value)})"
    return f"{key}: {message}{shown}"


def _echo(value: Any) -> str:
    """``repr(value)``, cut to :data:`ECHO_LIMIT` characters."""
    return _cut(repr(value))


def _cut(text: str) -> str:
    """``text``, its end replaced by ``…`` beyond :data:`ECHO_LIMIT` characters."""
    return text if len(text) <= ECHO_LIMIT else f"{text[:ECHO_LIMIT - 1]}…"
