"""The seed's form: ``HyperOptScheduler`` passed as ``scheduler=``, the hyperopt space in
``config["space"]``.

In the seed the scheduler both proposed configs and ran their trials. Here it schedules like FIFO
and brings its search through ``TrialScheduler.search_alg()``: a ``HyperOptSearch`` maximising
``reward_attr`` (loss = -reward), inside a ``SearchGenerator`` that takes ``config["space"]`` as
the hyperopt space and leaves it out of the trials' configs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tune_core import FIFOScheduler, TuneError, options
from tune_core.search import ConcurrencyLimiter, SearchGenerator
from tune_hyperopt.library import load_hyperopt
from tune_hyperopt.search import HyperOptSearch

if TYPE_CHECKING:
    from tune_core import Experiment

__all__ = ["HyperOptScheduler", "SpaceKeyGenerator"]

#: The config key that holds the hyperopt space in the seed's form.
SPACE_KEY = "space"


class SpaceKeyGenerator(SearchGenerator):
    """A ``SearchGenerator`` for a ``HyperOptSearch`` whose space is the experiment's
    ``config["space"]``; the trials get the rest of the config, with the sampled values on top."""

    def __init__(self, searcher: HyperOptSearch | ConcurrencyLimiter, hyperopt: HyperOptSearch,
                 seed: int | None = None) -> None:
        super().__init__(searcher, seed=seed)
        self.hyperopt = hyperopt

    def search_space(self, experiment: Experiment) -> dict[str, Any]:
        return {key: value for key, value in experiment.config.items() if key != SPACE_KEY}

    def add_configurations(self, experiments: list[Experiment]) -> None:
        if len(experiments) == 1:  # SearchGenerator names the experiments when there are more
            space = experiments[0].config.get(SPACE_KEY)
            if space is None:
                raise TuneError(f"HyperOptScheduler: experiment {experiments[0].name!r} has no hyperopt space "
                                f"in config[{SPACE_KEY!r}], e.g. config={{'space': {{'x': hp.uniform('x', 0, 1)}}}}")
            self.hyperopt.space = space
        super().add_configurations(experiments)


class HyperOptScheduler(FIFOScheduler):
    """The seed's TPE scheduler: FIFO scheduling, with configs from hyperopt.

    Args:
        max_concurrent: at most this many trials live at once (``ConcurrencyLimiter``); ``None``:
            as many as the executor runs.
        reward_attr: the result field to maximise; hyperopt minimises its negation.
    """

    def __init__(self, max_concurrent: int | None = None, reward_attr: str = "episode_reward_mean") -> None:
        self.max_concurrent = options.integer("HyperOptScheduler", "max_concurrent", max_concurrent,
                                              minimum=1, optional=True)
        self.reward_attr = options.text("HyperOptScheduler", "reward_attr", reward_attr)
        super().__init__(metric=self.reward_attr, mode="max")
        load_hyperopt()  # a missing hyperopt library fails here, when the scheduler is made

    def search_alg(self) -> SpaceKeyGenerator:
        """A new ``HyperOptSearch`` for ``config["space"]``, limited to ``max_concurrent`` if given."""
        searcher = HyperOptSearch(metric=self.reward_attr, mode="max")
        limited = searcher if self.max_concurrent is None else ConcurrencyLimiter(searcher, self.max_concurrent)
        return SpaceKeyGenerator(limited, searcher)

    def debug_string(self) -> str:
        limit = f", at most {self.max_concurrent} at once" if self.max_concurrent else ""
        return f"Using HyperOpt (TPE) to maximise {self.reward_attr}{limit}."
