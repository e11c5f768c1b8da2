"""The decision log: each call of a watched scheduler as a tuple that compares across runs (trials
by the order they were added, never by id), its wording for messages, and the global random
generators' state (a twin must draw what the scheduler would have drawn without it).
"""

from __future__ import annotations

import random
import sys
from typing import Any

__all__ = ["describe_answer", "describe_call", "describe_decision", "rng_state", "set_rng_state"]


def rng_state() -> tuple[Any, Any]:
    """The global random generators' state (``random``, and numpy's when it is loaded)."""
    numpy = sys.modules.get("numpy")
    return random.getstate(), (numpy.random.get_state() if numpy is not None else None)


def set_rng_state(state: tuple[Any, Any]) -> None:
    random.setstate(state[0])
    numpy = sys.modules.get("numpy")
    if numpy is not None and state[1] is not None:
        numpy.random.set_state(state[1])


def describe_call(said: tuple[Any, ...]) -> str:
    method, subject = said[0], said[1]
    if method == "on_trial_result":
        return f"on_trial_result(trial #{subject[0]}, iteration {subject[1]})"
    return f"{method}(trial #{subject})" if subject is not None else f"{method}()"


def describe_answer(said: tuple[Any, ...]) -> str:
    value, actions = said[2], said[3]
    if isinstance(value, tuple) and value and value[0] == "trial":
        text = f"trial #{value[1]}"
    elif isinstance(value, tuple) and value and value[0] == "raised":
        text = f"by raising {value[1]}"
    elif isinstance(value, tuple) and value and value[0] == "point":
        text = f"DecisionPoint({value[1]!r}, {value[2]!r})"
    else:
        text = repr(value)
    if actions:
        text += " after " + ", ".join(f"runner.{a[0]}(trial #{a[1]}, {a[2]})" for a in actions)
    return text


def describe_decision(said: tuple[Any, ...]) -> str:
    """``on_trial_result(trial #3, iteration 7) -> 'STOP'``: one logged call, for messages."""
    return f"{describe_call(said)} -> {describe_answer(said)}"
