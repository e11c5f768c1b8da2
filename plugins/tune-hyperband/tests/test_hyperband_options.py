"""Bad options fail where they are given, naming the scheduler, the option, what is allowed and the value."""

from __future__ import annotations

from typing import Any

import pytest
from tune_hyperband import AsyncHyperBandScheduler, HyperBandScheduler

import tune_core as tune

BAD: list[tuple[type, dict[str, Any], str]] = [
    (AsyncHyperBandScheduler, {"grace_period": "five"}, r"`grace_period` must be a number > 0, got 'five' \(str\)"),
    (AsyncHyperBandScheduler, {"grace_period": 0}, r"`grace_period` must be a number > 0, got 0"),
    (AsyncHyperBandScheduler, {"grace_period": 200}, r"`grace_period` must be <= max_t \(100\), got 200"),
    (AsyncHyperBandScheduler, {"max_t": -1}, r"`max_t` must be a number > 0, got -1"),
    (AsyncHyperBandScheduler, {"max_t": float("nan")}, r"`max_t` must be a number > 0, got nan"),
    (AsyncHyperBandScheduler, {"reduction_factor": 1}, r"`reduction_factor` must be a number > 1, got 1"),
    (AsyncHyperBandScheduler, {"brackets": 0}, r"`brackets` must be an integer >= 1, got 0 \(int\)"),
    (AsyncHyperBandScheduler, {"brackets": 1.5}, r"`brackets` must be an integer >= 1, got 1.5 \(float\)"),
    (AsyncHyperBandScheduler, {"seed": "x"}, r"`seed` must be an integer, got 'x' \(str\)"),
    (AsyncHyperBandScheduler, {"mode": "mx"}, r"`mode` must be one of None, 'min', 'max', got 'mx' \(did you mean 'max'\?\)"),
    (AsyncHyperBandScheduler, {"time_attr": ""}, r"`time_attr` must be a non-empty string, got '' \(str\)"),
    (AsyncHyperBandScheduler, {"metric": 3}, r"`metric` must be a non-empty string, got 3 \(int\)"),
    (AsyncHyperBandScheduler, {"metric": "a", "reward_attr": "b"}, r"pass `metric` \(with `mode`\) or the seed's `reward_attr`, not both"),
    (HyperBandScheduler, {"max_t": "81"}, r"`max_t` must be a number > 0, got '81' \(str\)"),
    (HyperBandScheduler, {"max_t": True}, r"`max_t` must be a number > 0, got True \(bool\)"),
    (HyperBandScheduler, {"reduction_factor": 0.5}, r"`reduction_factor` must be a number > 1, got 0.5"),
    (HyperBandScheduler, {"mode": "MAX"}, r"`mode` must be one of None, 'min', 'max', got 'MAX'"),
    (HyperBandScheduler, {"reward_attr": "r", "mode": "min"}, r"`reward_attr` is maximised; to minimise 'r' pass metric='r', mode='min'"),
]


@pytest.mark.parametrize(("cls", "options", "message"), BAD, ids=[f"{c.__name__}-{o}" for c, o, _ in BAD])
def test_bad_option_names_scheduler_option_and_value(cls: type, options: dict[str, Any], message: str) -> None:
    with pytest.raises(tune.TuneError, match=rf"^{cls.__name__}: {message}"):
        cls(**options)


def _train(config: dict[str, Any], reporter: Any) -> None:
    reporter(score=1)


@pytest.mark.parametrize("name", ["asha", "hyperband"])
def test_bad_option_by_name_fails_before_anything_runs(name: str, local_dir: Any) -> None:
    with pytest.raises(tune.TuneError, match=r"`reduction_factor` must be a number > 1, got 'x' \(str\)"):
        tune.run(_train, scheduler=name, scheduler_config={"reduction_factor": "x"}, local_dir=str(local_dir),
                 verbose=0, executor="thread")
    assert not local_dir.exists()
    with pytest.raises(tune.TuneError, match=rf"scheduler '{name}' \(tune-hyperband [0-9.]+\) got an unexpected "
                                             r"argument 'grace'"):
        tune.run(_train, scheduler=name, scheduler_config={"grace": 1}, local_dir=str(local_dir), verbose=0,
                 executor="thread")


def test_reward_attr_is_the_metric_maximised_and_run_fills_in_the_rest() -> None:
    seed_style = AsyncHyperBandScheduler(reward_attr="episode_reward_mean")
    assert (seed_style.metric, seed_style.mode) == ("episode_reward_mean", "max")
    plain = HyperBandScheduler()
    plain.set_search_properties("loss", "min")
    assert (plain.metric, plain.mode) == ("loss", "min")
    own = HyperBandScheduler(metric="acc", mode="max")
    own.set_search_properties("loss", "min")
    assert (own.metric, own.mode) == ("acc", "max")


def test_a_metric_missing_from_the_first_result_is_named(local_dir: Any) -> None:
    with pytest.raises(tune.TuneError, match=r"without 'acc', the `metric` of this run's scheduler "
                                             r"\(AsyncHyperBandScheduler\)"):
        tune.run(_train, scheduler="asha", metric="acc", mode="max", local_dir=str(local_dir), verbose=0,
                 executor="thread")
