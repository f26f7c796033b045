"""Sweep grids: the YAML format, its expansion into trials, trial names and validation.

A grid file (examples in ``params/sweep_*.yaml``; every top-level key is optional except that
``grid`` or ``random`` must be there)::

    name: eps-ms                   # names the sweep (default: the file name)
    base:                          # dotted overrides applied to every trial
      report.stability_draws: 0
    grid:                          # every combination of these values
      cluster.min_samples: [10, 20]
      cluster.eps: [0.2, 0.3]
    random:                        # seeded random draws
      draws: 10
      seed: 0
      space:
        reduce.n_neighbors: [10, 50]              # two ints: an integer in [10, 50]
        reduce.min_dist: [0.0, 0.5]               # two floats: uniform in [0.0, 0.5]
        cluster.eps: {log_uniform: [0.05, 1.0]}
        cluster.algorithm: {choice: [dbscan, hdbscan]}

With both ``grid`` and ``random``, every grid point is combined with every draw. A trial's run
id is ``sweep-<sweep id>-<abbreviated key><value>-...`` (``sweep-eps-ms-3fa9c1-ms10-eps0.2``);
the sweep id is the name plus a hash of the base config, so a changed params file starts a new
sweep rather than skipping trials that ran with other settings.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from seglab.config import Config, load_config, load_yaml
from seglab.errors import ConfigError

TOP_LEVEL_KEYS = ("name", "base", "grid", "random")
DISTRIBUTIONS = ("uniform", "int", "log_uniform", "choice")
MAX_RUN_ID = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class GridSpec:
    """A parsed grid file."""

    name: str
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    draws: int
    seed: int
    space: dict[str, tuple[str, list[Any]]]
    """Dotted key -> (distribution, its arguments)."""
    source: str


@dataclass(frozen=True)
class Trial:
    """One point of a sweep, validated."""

    run_id: str
    values: dict[str, Any]
    """The varied dotted keys and their values."""
    config: Config


@dataclass(frozen=True)
class SweepPlan:
    """Every trial of a sweep, named and validated, before anything runs."""

    sweep_id: str
    trials: list[Trial]

    @property
    def prefix(self) -> str:
        """What every trial's run id starts with."""
        return f"sweep-{self.sweep_id}-"


def load_grid(path: str | Path) -> GridSpec:
    """Read and check a grid file.

    Raises:
        ConfigError: naming the file, the key and what is wrong.
    """
    source = Path(path)
    if not source.is_file():
        raise ConfigError(f"{source}: grid file not found (pass --grid with an existing YAML file)")
    try:
        raw = load_yaml(source.read_text(), str(source)) or {}
    except yaml.YAMLError:
        raise ConfigError(f"{source}: not valid YAML") from None
    return parse_grid(raw, str(source), default_name=source.stem)


def parse_grid(raw: Any, source: str, default_name: str = "sweep") -> GridSpec:
    """Check the plain data of a grid file (see the module docstring for the format).

    Raises:
        ConfigError: naming ``source``, the key and what is wrong.
    """
    def fail(message: str) -> ConfigError:
        return ConfigError(f"{source}: {message}")

    if not isinstance(raw, Mapping):
        raise fail("expected a mapping with grid and/or random at the top level")
    unknown = sorted(set(raw) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise fail(f"unknown top-level key(s) {unknown}; use {', '.join(TOP_LEVEL_KEYS)}")
    if "grid" not in raw and "random" not in raw:
        raise fail("nothing to sweep: add a grid: and/or a random: section")
    name = _safe(str(raw.get("name") or default_name))
    base = _mapping(raw.get("base") or {}, "base", fail)
    grid = _mapping(raw.get("grid") or {}, "grid", fail)
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise fail(f"grid.{key}: expected a non-empty list of values (got {values!r})")
    draws, seed, space = _parse_random(raw.get("random"), fail)
    overlap = sorted(set(grid) & set(space))
    if overlap:
        raise fail(f"{overlap} appear in both grid and random.space: keep each key in one")
    return GridSpec(name, base, grid, draws, seed, space, source)


def expand(spec: GridSpec) -> list[dict[str, Any]]:
    """Every trial's varied values: grid points (first key slowest) times random draws."""
    points = [dict(zip(spec.grid, combo, strict=True))
              for combo in itertools.product(*spec.grid.values())]
    rng = np.random.default_rng(spec.seed)
    draws = [{key: _draw(rng, kind, args) for key, (kind, args) in spec.space.items()}
             for _ in range(spec.draws)] if spec.space else [{}]
    return [{**point, **draw} for point in points for draw in draws]


def plan_sweep(spec: GridSpec, params: str | Path, overrides: Sequence[str] = ()) -> SweepPlan:
    """Name every trial and validate its config; nothing runs.

    Args:
        spec: the grid.
        params: the base parameters file.
        overrides: ``KEY=VALUE`` overrides of the base (``--set``), applied before ``base``.

    Returns:
        The plan.

    Raises:
        ConfigError: the base or any trial's config is invalid (every distinct problem named,
            with the trial's values).
    """
    fixed = [*overrides, *(_override(key, value) for key, value in spec.base.items())]
    base = load_config(params, overrides=fixed)
    digest = hashlib.sha256(json.dumps(base.to_dict(), sort_keys=True).encode()).hexdigest()[:6]
    sweep_id = f"{spec.name}-{digest}"
    all_values = expand(spec)
    names = trial_names(f"sweep-{sweep_id}", all_values)
    trials, problems = [], {}
    for run_id, values in zip(names, all_values, strict=True):
        try:
            config = load_config(params, overrides=[*fixed, *(_override(k, v) for k, v in values.items())])
        except ConfigError as exc:
            problem = str(exc).split(": ", 1)[-1]
            problems.setdefault(problem, values)
            continue
        trials.append(Trial(run_id, values, config))
    if problems:
        shown = "; ".join(f"{problem} (trial {values})" for problem, values in list(problems.items())[:3])
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise ConfigError(f"{spec.source}: {len(all_values) - len(trials)} of {len(all_values)} "
                          f"trials are invalid: {shown}{more}; nothing was run")
    return SweepPlan(sweep_id, trials)


def trial_names(prefix: str, all_values: Sequence[Mapping[str, Any]]) -> list[str]:
    """Unique, filesystem-safe run ids from the varied values (``prefix-eps0.3-ms20``)."""
    keys = list(dict.fromkeys(key for values in all_values for key in values))
    short = _abbreviations(keys)
    names = []
    for values in all_values:
        parts = [f"{short[key]}{_format(value)}" for key, value in values.items()]
        name = _safe("-".join([prefix, *parts]))
        if len(name) > MAX_RUN_ID:
            name = f"{name[:MAX_RUN_ID - 9]}-{_hash(values)}"
        names.append(name)
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    return [f"{name}-{_hash(values)}" if seen[name] > 1 else name
            for name, values in zip(names, all_values, strict=True)]


# -- internals -----------------------------------------------------------------------------------
def _mapping(value: Any, section: str, fail: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise fail(f"{section}: expected a mapping of dotted config keys (got {value!r})")
    return {str(key): item for key, item in value.items()}


def _parse_random(raw: Any, fail: Any) -> tuple[int, int, dict[str, tuple[str, list[Any]]]]:
    if raw is None:
        return 0, 0, {}
    section = _mapping(raw, "random", fail)
    unknown = sorted(set(section) - {"draws", "seed", "space"})
    if unknown:
        raise fail(f"random: unknown key(s) {unknown}; use draws, seed and space")
    draws, seed = section.get("draws"), section.get("seed", 0)
    if not isinstance(draws, int) or isinstance(draws, bool) or draws < 1:
        raise fail(f"random.draws: expected a positive integer (got {draws!r})")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise fail(f"random.seed: expected a non-negative integer (got {seed!r})")
    space = _mapping(section.get("space") or {}, "random.space", fail)
    if not space:
        raise fail("random.space: give at least one dotted key to draw")
    return draws, seed, {key: _distribution(key, value, fail) for key, value in space.items()}


def _distribution(key: str, value: Any, fail: Any) -> tuple[str, list[Any]]:
    where = f"random.space.{key}"
    if isinstance(value, list):
        value = {"int" if all(_is_int(item) for item in value) else "uniform": value}
    if not isinstance(value, Mapping) or len(value) != 1:
        raise fail(f"{where}: expected [low, high] or one of {{{', '.join(DISTRIBUTIONS)}: ...}} "
                   f"(got {value!r})")
    (kind, args), = value.items()
    if kind not in DISTRIBUTIONS:
        raise fail(f"{where}: unknown distribution {kind!r}; use {', '.join(DISTRIBUTIONS)}")
    if not isinstance(args, list) or not args:
        raise fail(f"{where}.{kind}: expected a non-empty list (got {args!r})")
    if kind == "choice":
        return kind, args
    if len(args) != 2 or not all(_is_number(item) for item in args) or not args[0] < args[1]:
        raise fail(f"{where}.{kind}: expected [low, high] numbers with low < high (got {args!r})")
    if kind == "int" and not all(_is_int(item) for item in args):
        raise fail(f"{where}.int: expected integer bounds (got {args!r})")
    if kind == "log_uniform" and args[0] <= 0:
        raise fail(f"{where}.log_uniform: bounds must be positive (got {args!r})")
    return kind, args


def _draw(rng: np.random.Generator, kind: str, args: list[Any]) -> Any:
    if kind == "choice":
        return args[int(rng.integers(len(args)))]
    if kind == "int":
        return int(rng.integers(args[0], args[1] + 1))
    if kind == "log_uniform":
        value = math.exp(rng.uniform(math.log(args[0]), math.log(args[1])))
    else:
        value = rng.uniform(args[0], args[1])
    return float(f"{value:.4g}")


def _abbreviations(keys: list[str]) -> dict[str, str]:
    """``cluster.min_samples`` -> ``ms``, ``cluster.eps`` -> ``eps``; clashes use the full key."""
    def short(key: str) -> str:
        last = key.rsplit(".", 1)[-1]
        words = [word for word in last.split("_") if word]
        return "".join(word[0] for word in words) if len(words) > 1 else last

    guesses = {key: short(key) for key in keys}
    counts: dict[str, int] = {}
    for guess in guesses.values():
        counts[guess] = counts.get(guess, 0) + 1
    return {key: guess if counts[guess] == 1 else key.replace(".", "_")
            for key, guess in guesses.items()}


def _format(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "+".join(_format(item) for item in value) or "none"
    return str(value)


def _override(key: str, value: Any) -> str:
    return f"{key}={json.dumps(value)}"


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._-") or "sweep"


def _hash(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:8]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
