"""Experiment specs: the dict / ``Experiment`` / YAML forms, validated into one shape.

Every problem is a ``TuneError`` naming the experiment, the key and what is allowed, raised before
anything is written or started.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tune_core import options
from tune_core.errors import TuneError, closest, describe_callable
from tune_core.resources import Resources
from tune_core.trainable_registry import get_trainable, resolve_run

if TYPE_CHECKING:
    from tune_core.trial import Trial

__all__ = [
    "DEFAULT_LOCAL_DIR", "RUN_FILE_OPTIONS", "SPEC_KEYS", "Experiment", "convert_to_experiment_list", "load_run_file",
    "load_spec_file",
]

DEFAULT_LOCAL_DIR = "~/tune_results"

#: Allowed spec keys and what each means (for error messages and docs).
SPEC_KEYS: dict[str, str] = {
    "run": "the trainable: a registered name, a function f(config, reporter) or a Trainable subclass",
    "stop": "dict {result field: threshold} (stop when any field >= its threshold) or f(trial_id, result) -> bool",
    "config": "the search space handed to the trainable",
    "resources": "per-trial resources, e.g. {'cpu': 1, 'gpu': 0.5}",
    "num_samples": "how many times the search space is sampled (grid repeated)",
    "local_dir": "where results go (default ~/tune_results)",
    "checkpoint_freq": "checkpoint every N iterations (0 = never)",
    "checkpoint_at_end": "checkpoint when the trial ends",
    "keep_checkpoints_num": "keep at most this many checkpoints per trial",
    "checkpoint_score_attr": "result field that ranks checkpoints for keep_checkpoints_num",
    "max_failures": "restart a failed trial from its last checkpoint up to N times",
    "restore": "a checkpoint path every trial starts from",
}
_ALIASES = {"trial_resources": "resources", "repeat": "num_samples"}


class Experiment:
    """One named experiment: a trainable, its search space, stop criteria and resources.

    Example:
        >>> Experiment("my_experiment", run="train_func", stop={"mean_accuracy": 99},
        ...            config={"lr": grid_search([0.1, 0.2])})  # doctest: +SKIP
    """

    def __init__(
        self,
        name: str,
        run: Any,
        stop: Mapping[str, float] | Callable[[str, dict[str, Any]], bool] | None = None,
        config: Mapping[str, Any] | None = None,
        resources: Mapping[str, Any] | None = None,
        num_samples: int | None = None,
        local_dir: str | os.PathLike[str] | None = None,
        checkpoint_freq: int = 0,
        checkpoint_at_end: bool = False,
        keep_checkpoints_num: int | None = None,
        checkpoint_score_attr: str = "training_iteration",
        max_failures: int = 0,
        restore: str | None = None,
        trial_resources: Mapping[str, Any] | None = None,
        repeat: int | None = None,
    ):
        where = f"experiment {name!r}"
        if not isinstance(name, str) or not name or "/" in name:
            raise TuneError(f"an experiment name must be a non-empty string without '/', got {name!r}")
        if run is None:
            raise TuneError(f"{where}: missing required key `run` ({SPEC_KEYS['run']})")
        self.name = name
        self.trainable_name = resolve_run(run, f"{name}.run")
        #: The trainable this experiment runs: its own, even if another experiment's trainable
        #: takes the same name in the registry later.
        self.trainable = get_trainable(self.trainable_name)
        self.stop = _check_stop(where, stop)
        if config is not None and not isinstance(config, Mapping):
            raise TuneError(f"{where}: `config` must be a dict, got {type(config).__name__}")
        self.config: dict[str, Any] = dict(config or {})
        _check_picklable(where, self.config)
        resources = _one_of(where, "resources", resources, "trial_resources", trial_resources)
        self.resources_spec = resources
        self.resources = Resources.from_spec(resources, f"{name}.resources") if resources is not None else None
        num_samples = _one_of(where, "num_samples", num_samples, "repeat", repeat)
        self.num_samples = options.integer(where, "num_samples", 1 if num_samples is None else num_samples,
                                           minimum=1)
        local_dir = options.path(where, "local_dir", local_dir, optional=True)
        self.local_dir = Path(local_dir or os.path.expanduser(DEFAULT_LOCAL_DIR)).absolute()
        self.checkpoint_freq = options.integer(where, "checkpoint_freq", checkpoint_freq, minimum=0)
        self.checkpoint_at_end = options.flag(where, "checkpoint_at_end", checkpoint_at_end)
        self.keep_checkpoints_num = options.integer(where, "keep_checkpoints_num", keep_checkpoints_num,
                                                    minimum=1, optional=True)
        self.checkpoint_score_attr = options.text(where, "checkpoint_score_attr", checkpoint_score_attr)
        self.max_failures = options.integer(where, "max_failures", max_failures, minimum=0)
        self.restore = options.path(where, "restore", restore, optional=True)
        if self.restore:
            from tune_core import checkpoints

            checkpoints.check(self.restore, f"{where}: `restore`")
        self.experiment_id = uuid.uuid4().hex
        #: Filled by the run: what the state file needs beside the spec (pickled components).
        self.extra_state: dict[str, Any] = {}
        #: What it takes to build this experiment again (e.g. ``tune-core resume``).
        self.spec: dict[str, Any] = {
            "stop": stop, "config": config, "resources": resources, "num_samples": self.num_samples,
            "local_dir": str(self.local_dir), "checkpoint_freq": self.checkpoint_freq,
            "checkpoint_at_end": self.checkpoint_at_end, "keep_checkpoints_num": self.keep_checkpoints_num,
            "checkpoint_score_attr": self.checkpoint_score_attr, "max_failures": self.max_failures,
            "restore": self.restore,
        }

    @property
    def path(self) -> Path:
        """``<local_dir>/<name>``, where this experiment's trials write (one object, shared by its trials)."""
        path = self.__dict__.get("_path")
        if path is None:
            path = self.__dict__["_path"] = self.local_dir / self.name
        return path

    @classmethod
    def from_spec(cls, name: str, spec: Mapping[str, Any]) -> Experiment:
        """Build from the dict form, rejecting unknown keys with the closest valid one."""
        if not isinstance(spec, Mapping):
            raise TuneError(f"experiment {name!r}: the spec must be a dict, got {type(spec).__name__}")
        kwargs: dict[str, Any] = {}
        for key, value in spec.items():
            canonical = _ALIASES.get(key, key)
            if canonical not in SPEC_KEYS:
                hint = closest(str(key), list(SPEC_KEYS) + list(_ALIASES))
                raise TuneError(
                    f"experiment {name!r}: unknown spec key {key!r}"
                    + (f" (did you mean {hint!r}?)" if hint else "")
                    + f"; allowed: {', '.join(SPEC_KEYS)}"
                )
            kwargs[key] = value  # An alias stays itself: given with its twin, the constructor refuses both.
        if "run" not in kwargs:
            raise TuneError(f"experiment {name!r}: missing required key `run` ({SPEC_KEYS['run']})")
        return cls(name, **kwargs)

    def make_trial(self, config: dict[str, Any], experiment_tag: str, trial_id: str | None = None,
                   resources: Resources | None = None) -> Trial:
        """A new PENDING trial of this experiment with a resolved ``config``.

        ``resources`` defaults to the experiment's (or the trainable's ``default_resource_request``);
        a trial's resources never change after it is made.
        """
        from tune_core.trial import Trial, new_trial_id

        resources = resources or self.resources
        if resources is None:
            request = getattr(self.trainable, "default_resource_request", None)
            asked = request(config) if request is not None else None
            resources = Resources.from_spec(asked, f"{self.name}.resources") if asked else Resources()
        return Trial(
            trainable_name=self.trainable_name,
            config=config,
            experiment_tag=experiment_tag,
            experiment_name=self.name,
            experiment_id=self.experiment_id,
            experiment_dir=self.path,
            resources=resources,
            stopping_criterion=self.stop,
            checkpoint_freq=self.checkpoint_freq,
            checkpoint_at_end=self.checkpoint_at_end,
            keep_checkpoints_num=self.keep_checkpoints_num,
            checkpoint_score_attr=self.checkpoint_score_attr,
            max_failures=self.max_failures,
            restore_path=self.restore,
            trainable=self.trainable,
            trial_id=trial_id or new_trial_id(),
        )

    def check_local_dir(self) -> None:
        """Fail early, naming the path, if results cannot be written."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise TuneError(
                f"experiment {self.name!r}: cannot write results to `local_dir` {str(self.local_dir)!r}: "
                f"{exc.strerror or exc}"
            ) from exc

    def __repr__(self) -> str:
        return f"Experiment({self.name!r}, run={self.trainable_name!r})"


def convert_to_experiment_list(experiments: Any) -> list[Experiment]:
    """Accept an ``Experiment``, a list of them, or a dict ``{name: spec}``."""
    if isinstance(experiments, Experiment):
        return [experiments]
    if isinstance(experiments, Mapping):
        return [
            value if isinstance(value, Experiment) else Experiment.from_spec(str(name), value)
            for name, value in experiments.items()
        ]
    if isinstance(experiments, Sequence) and not isinstance(experiments, str) and all(
        isinstance(e, Experiment) for e in experiments
    ):
        return list(experiments)
    raise TuneError(
        "experiments must be an Experiment, a list of Experiments, or a dict {name: spec}; "
        f"got {type(experiments).__name__}"
    )


#: What a spec file may hold beside its experiments: the ``run_experiments`` arguments of the run.
RUN_FILE_OPTIONS = ("scheduler", "scheduler_config", "search_alg", "search_alg_config", "executor",
                    "executor_config", "loggers", "logger_config", "metric", "mode")


def load_spec_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``{name: spec}`` from a YAML or JSON file (the form ``tune-core run`` takes); the run
    options of a file in the ``experiments:`` form are left out (``load_run_file`` returns them)."""
    return load_run_file(path)[0]


def load_run_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``({name: spec}, run options)`` from a YAML or JSON file.

    A file holds ``{name: spec}``, or, to choose the scheduler and the rest of the run too,
    ``{experiments: {name: spec}, scheduler: asha, scheduler_config: {...}, metric: ..., ...}`` with
    any of ``RUN_FILE_OPTIONS`` beside ``experiments``.
    """
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise TuneError(f"cannot read experiment file {str(file)!r}: {exc.strerror or exc}") from exc
    try:
        if file.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:
        raise TuneError(f"cannot parse experiment file {str(file)!r}: {exc}") from exc
    if not isinstance(data, dict) or not data:
        raise TuneError(f"experiment file {str(file)!r} must hold a mapping {{name: spec}}")
    experiments = data.get("experiments")
    if not isinstance(experiments, dict) or "run" in experiments:  # {name: spec}, one maybe named "experiments"
        return data, {}
    options = {key: value for key, value in data.items() if key != "experiments"}
    for key in options:
        if key not in RUN_FILE_OPTIONS:
            hint = closest(str(key), RUN_FILE_OPTIONS)
            raise TuneError(
                f"experiment file {str(file)!r}: unknown run option {key!r} beside `experiments`"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; allowed: {', '.join(RUN_FILE_OPTIONS)} (an experiment's own keys go under its name)"
            )
    if not experiments:
        raise TuneError(f"experiment file {str(file)!r}: `experiments` is empty; give {{name: spec}} under it")
    return experiments, options


def _one_of(where: str, key: str, value: Any, alias: str, alias_value: Any) -> Any:
    """``value``, or its alias's: the seed's spelling and today's mean the same, so not both."""
    if alias_value is None:
        return value
    if value is not None:
        raise TuneError(f"{where}: `{key}` and `{alias}` mean the same; give one of them, not both "
                        f"(got {key}={value!r} and {alias}={alias_value!r})")
    return alias_value


def _check_stop(where: str, stop: Any) -> Any:
    if stop is None:
        return {}
    if callable(stop) and not isinstance(stop, Mapping):
        _check_stop_signature(where, stop)
        return stop
    if not isinstance(stop, Mapping):
        raise TuneError(f"{where}: `stop` must be a dict {{field: threshold}} or a function, got {stop!r}")
    for key, value in stop.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise TuneError(
                f"{where}: stop criterion `stop.{key}` must be a number (stop when result[{key!r}] >= it), "
                f"got {value!r}"
            )
    return dict(stop)


def _check_stop_signature(where: str, stop: Callable[..., Any]) -> None:
    """A stop function is called as ``stop(trial_id, result)``; refuse one that cannot be, now."""
    import inspect

    try:
        signature = inspect.signature(stop)
    except (TypeError, ValueError):
        return  # A builtin or C callable without a signature: trust it.
    try:
        signature.bind("trial_id", {})
    except TypeError:
        raise TuneError(
            f"{where}: the `stop` function {describe_callable(stop)} takes {signature}, but it is called "
            "as stop(trial_id, result) and returns True to stop the trial"
        ) from None


def _check_picklable(where: str, config: Mapping[str, Any], prefix: str = "config") -> None:
    import cloudpickle

    for key, value in config.items():
        path = f"{prefix}.{key}"
        if isinstance(value, (str, int, float, bool, type(None))):
            continue
        if isinstance(value, Mapping):
            _check_picklable(where, value, path)
            continue
        try:
            cloudpickle.dumps(value)
        except Exception as exc:
            raise TuneError(
                f"{where}: `{path}` cannot be pickled to send to a trial ({type(exc).__name__}: {exc}); "
                "pass something picklable, or share it with pin_in_object_store()"
            ) from None
