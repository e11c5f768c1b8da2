"""Laying a partial config (a searcher's suggestion, a known point) over a search space."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tune_core.search.resolve import Path, is_search_value

__all__ = ["leaf_paths", "merge_over"]


def leaf_paths(node: Mapping[Any, Any], path: Path, out: dict[Path, Any] | None = None) -> dict[Path, Any]:
    """The values of ``node`` by path (a nested dict counts as more keys, not as one value)."""
    out = {} if out is None else out
    for key, value in node.items():
        leaf = (*path, key)
        if isinstance(value, dict) and value and not is_search_value(value):
            leaf_paths(value, leaf, out)
        else:
            out[leaf] = value
    return out


def merge_over(base: dict[Any, Any], partial: Mapping[Any, Any]) -> dict[Any, Any]:
    """``partial`` over ``base``, recursing where both hold a plain dict."""
    merged = dict(base)
    for key, value in partial.items():
        old = merged.get(key)
        if isinstance(value, dict) and isinstance(old, dict) and not is_search_value(old):
            merged[key] = merge_over(old, value)
        else:
            merged[key] = value
    return merged
