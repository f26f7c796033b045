"""Segment names and colours, and carrying them over from last week's run.

A run's segments are called ``Segment <label>`` and coloured by label (the map's palette) unless
the run was made with ``seglab run --previous RUN``: then a segment that continues one of
``RUN``'s (it survived, or is the larger part of a split, or the main source of a merge) keeps
its name and colour, and the other segments take names and colours ``RUN`` did not
use (``artifacts/segment_names.json``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from matplotlib import colormaps
from matplotlib.colors import to_hex

from seglab.profiles import NOISE

SEGMENT_PALETTE = "tab20"
"""The map's palette (``plots.embedding_map``): cards and comparison figures use the same."""
NOISE_COLOUR = "#b0b0b0"
NOISE_NAME = "No segment (noise)"


def segment_colour(segment: int) -> str:
    """The colour a segment has on the map (noise: grey)."""
    if segment == NOISE:
        return NOISE_COLOUR
    return to_hex(colormaps[SEGMENT_PALETTE](segment % 20))


def default_names(segments: Iterable[int]) -> dict[int, dict[str, Any]]:
    """``Segment <label>`` and the label's colour for each segment (noise left out)."""
    return {int(s): {"name": f"Segment {s}", "colour": segment_colour(int(s)), "carried_from": None}
            for s in segments if s != NOISE}


def names_from_json(saved: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    """Names as ``segment_names.json`` or ``compare.json`` hold them (JSON keys are text)."""
    return {int(segment): dict(entry) for segment, entry in saved.items()}


def carry_names(previous: Mapping[int, Mapping[str, Any]], survivors: Mapping[int, int],
                segments: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Names and colours for this run's segments, carried over where a segment survives.

    Args:
        previous: the earlier run's names (:func:`default_names` or its saved names).
        survivors: this run's segment -> the earlier segment it continues
            (:attr:`seglab.compare.Matching.survivors`).
        segments: this run's segment labels (noise ignored).

    Returns:
        Per segment ``{"name", "colour", "carried_from"}``: a survivor's name and colour are the
        earlier segment's; every other segment gets the first ``Segment N`` and palette colour
        that no carried name uses (``carried_from`` None).
    """
    labels = sorted(int(s) for s in segments if s != NOISE)
    names: dict[int, dict[str, Any]] = {}
    for segment in labels:
        if segment in survivors and survivors[segment] in previous:
            before = previous[survivors[segment]]
            names[segment] = {"name": before["name"], "colour": before["colour"],
                              "carried_from": survivors[segment]}
    used_names = {entry["name"] for entry in previous.values()}
    used_colours = {entry["colour"] for entry in names.values()}
    number = 0
    for segment in labels:
        if segment in names:
            continue
        while f"Segment {number}" in used_names:
            number += 1
        colour = next((c for c in map(segment_colour, range(20)) if c not in used_colours),
                      segment_colour(segment))
        names[segment] = {"name": f"Segment {number}", "colour": colour, "carried_from": None}
        used_names.add(f"Segment {number}")
        used_colours.add(colour)
    return names
