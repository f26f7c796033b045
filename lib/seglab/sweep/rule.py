"""The rule that picks a sweep's best run, e.g. ``max silhouette where noise_fraction <= 0.2``.

Syntax (words are case-insensitive, spaces around operators optional)::

    RULE      := ("max" | "min") KEY [ "where" CONDITION { "and" CONDITION } ]
    CONDITION := KEY OP VALUE          OP: <= >= < > = == !=

A ``KEY`` is a metric (``silhouette``, ``noise_fraction``, ``n_clusters``, ``seconds_total``…) or a
dotted config key (``cluster.algorithm``); ``metrics.``, ``params.`` or ``tags.`` prefixes are
also accepted. A ``VALUE`` is a number, or a word compared as text (``cluster.algorithm =
dbscan``). A run lacking the ranked metric, or a value a condition needs, does not qualify; ties
go to the run that finished first.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from seglab.config import Config
from seglab.errors import ConfigError
from seglab.runfolder import METRIC_KEYS

DEFAULT_RULE = "max silhouette where noise_fraction <= 0.2"
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
    "=": operator.eq, "==": operator.eq, "!=": operator.ne,
}
EXTRA_METRICS = ("stability_ari",)
SYNTAX = "max|min METRIC [where KEY OP VALUE [and KEY OP VALUE ...]]"
_TOKEN = re.compile(r"\s*(<=|>=|==|!=|<|>|=|[^\s<>=!]+)")


@dataclass(frozen=True)
class Condition:
    """``key op value``; ``value`` is a float, or text compared case-insensitively."""

    key: str
    op: str
    value: float | str

    def holds(self, found: Any) -> bool:
        """Whether a run's value satisfies the condition (a missing value never does)."""
        if found is None or (isinstance(found, float) and math.isnan(found)):
            return False
        if isinstance(self.value, float):
            try:
                return OPERATORS[self.op](float(found), self.value)
            except (TypeError, ValueError):
                return False
        return OPERATORS[self.op](str(found).lower(), self.value.lower())


@dataclass(frozen=True)
class BestRule:
    """A parsed rule."""

    direction: Literal["max", "min"]
    metric: str
    conditions: tuple[Condition, ...]
    text: str


def parse_rule(text: str) -> BestRule:
    """Parse a rule strictly.

    Raises:
        ConfigError: one line naming the problem and the expected syntax.
    """
    def fail(problem: str) -> ConfigError:
        return ConfigError(f"--best {text!r}: {problem} (syntax: {SYNTAX})")

    tokens = _tokens(text, fail)
    if len(tokens) < 2:
        raise fail("expected a direction and a metric")
    direction = tokens[0].lower()
    if direction not in ("max", "min"):
        raise fail(f"starts with {tokens[0]!r}, expected max or min")
    metric = _key(tokens[1], fail)
    rest = tokens[2:]
    conditions = []
    if rest:
        if rest[0].lower() != "where":
            raise fail(f"expected 'where' after {tokens[1]!r}, got {rest[0]!r}")
        rest = rest[1:]
        while True:
            if len(rest) < 3:
                raise fail("a condition needs KEY OP VALUE")
            key, op, value = rest[:3]
            if op not in OPERATORS:
                raise fail(f"unknown operator {op!r} after {key!r}; use {' '.join(OPERATORS)}")
            if value in OPERATORS or value.lower() in ("and", "where"):
                raise fail(f"missing value after {key} {op}")
            conditions.append(Condition(_key(key, fail), op, _value(value)))
            rest = rest[3:]
            if not rest:
                break
            if rest[0].lower() != "and":
                raise fail(f"expected 'and' between conditions, got {rest[0]!r}")
            rest = rest[1:]
    return BestRule(direction, metric, tuple(conditions), text)  # type: ignore[arg-type]


def select_best(frame: pd.DataFrame, rule: BestRule) -> pd.Series | None:
    """The best completed run of a leaderboard frame by ``rule``, or ``None`` if none qualifies.

    Args:
        frame: rows of :func:`seglab.tracking.leaderboard`.
        rule: the parsed rule.

    Returns:
        The winning row.
    """
    rows = frame[frame["status"] == "completed"]
    if rows.empty:
        return None
    metric = _column(rows, rule.metric)
    if metric is None:
        return None
    keep = pd.Series(True, index=rows.index)
    for condition in rule.conditions:
        column = _column(rows, condition.key)
        if column is None:
            return None
        keep &= rows[column].map(condition.holds).astype(bool)
    scores = pd.to_numeric(rows.loc[keep, metric], errors="coerce").dropna()
    if scores.empty:
        return None
    ordered = rows.loc[scores.index].assign(_score=scores).sort_values(
        ["_score", "ended_at"], ascending=[rule.direction == "min", True], kind="stable")
    return ordered.drop(columns="_score").iloc[0]


def _tokens(text: str, fail: Callable[[str], ConfigError]) -> list[str]:
    tokens, position = [], 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None:
            raise fail(f"cannot read {stripped[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _key(token: str, fail: Callable[[str], ConfigError]) -> str:
    """A known metric or config key (prefixes ``metrics.``/``params.``/``tags.`` pass as given)."""
    if token.startswith(("metrics.", "params.", "tags.")) or token in METRIC_KEYS + EXTRA_METRICS:
        return token
    if token.startswith("seconds_") or _is_config_key(token):
        return token
    raise fail(f"unknown key {token!r}; use a metric ({', '.join(METRIC_KEYS[4:12])}, ...) or a "
               "dotted config key (cluster.eps)")


def _is_config_key(key: str) -> bool:
    node: Any = Config
    for part in key.split("."):
        fields = getattr(node, "model_fields", None)
        if fields is None or part not in fields:
            return False
        node = fields[part].annotation
    return True


def _value(token: str) -> float | str:
    try:
        return float(token)
    except ValueError:
        return token


def _column(frame: pd.DataFrame, key: str) -> str | None:
    """The leaderboard column of a key (as ``seglab runs`` resolves it), or ``None``."""
    for column in (key, f"metrics.{key}", f"params.{key}", f"tags.{key}"):
        if column in frame.columns:
            return column
    return None
