"""tune-recorder-example: the ``Recipe`` object its trainable adapter takes."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Recipe"]


@dataclass(frozen=True)
class Recipe:
    """A "framework object": how many steps to report, and what to do (``config["mode"]``).

    Modes: ``ok`` reports ``steps`` results with score 1; ``flaky`` fails after its first result the
    first time (a marker file in ``config["marker_dir"]``); ``broken`` always fails after its first
    result; ``poor`` reports score -1.
    """

    steps: int = 3
