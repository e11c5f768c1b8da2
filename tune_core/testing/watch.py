"""``Watch``: stands in for the scheduler under test, checks every call and keeps the run going.

What the scheduler returns is checked before the runner sees it; a broken return or an exception
becomes a named ``Problem`` and is replaced by a safe value (``CONTINUE``, ``None``, or the trial
FIFO would choose), so one run finds every rule broken instead of stopping at the first. Actions the
scheduler takes through the runner are checked on the way (``RunnerWatch``). Each call is logged as
a decision in a form that compares across runs (trials by the order they were added, never by id).

A watch may also carry a *twin*: a second scheduler, made with the factory part way through the run
and given ``restore(save())`` of the first. From then on each call goes to the twin first, through a
runner view that records its actions without applying them, then to the scheduler; the first
difference between the two is a ``state-lost-on-restore`` problem.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

from tune_core.interfaces import (
    CONTINUE,
    DECISIONS,
    PAUSED,
    PENDING,
    RUNNING,
    DecisionPoint,
    TrialRunnerView,
    TrialScheduler,
    TrialView,
)
from tune_core.plugins.errors import describe_exception
from tune_core.testing.decisions import describe_answer, describe_call, rng_state, set_rng_state
from tune_core.testing.report import Checker
from tune_core.testing.runner_watch import RunnerWatch, view_of
from tune_core.testing.wrapper import SchedulerWrapper

__all__ = ["Watch"]

#: What stands in for a method's value when it raised or returned what it must not.
_SAFE: dict[str, Any] = {"on_trial_result": CONTINUE, "set_search_properties": True, "debug_string": ""}
#: Methods that say a trial has ended (the twin is made after a number of them).
_ENDINGS = frozenset(("on_trial_complete", "on_trial_remove", "on_trial_error"))
#: Calls that are not decisions: neither logged nor asked of the twin.
_NOT_SHADOWED = frozenset(("save", "restore", "debug_string", "set_search_properties"))


class Watch(SchedulerWrapper):
    """Checks each call of ``inner`` against the rules and logs the decisions it makes.

    Args:
        inner: the scheduler under test.
        checker: where problems go.
        twin_factory: with it, a twin is made (``restore(save())``) once ``twin_after`` trials ended.
    """

    def __init__(self, inner: TrialScheduler, checker: Checker, *,
                 twin_factory: Callable[[], TrialScheduler] | None = None, twin_after: int = 0) -> None:
        super().__init__(inner)
        self.checker = checker
        self.decisions: list[tuple[Any, ...]] = []
        self._ordinals: dict[str, int] = {}
        self._runners: dict[int, RunnerWatch] = {}
        self._twin_factory = twin_factory
        self._twin_after = twin_after
        self._ended = 0
        self._twin: TrialScheduler | None = None
        self._twin_runner: RunnerWatch | None = None
        self._objective: tuple[str | None, str | None] = (None, None)
        self._twin_at = 0

    # --- naming trials the same way in every run ----------------------------------------------
    def ordinal(self, view: TrialView) -> int:
        return self._ordinals.setdefault(view.trial_id, len(self._ordinals))

    def label(self, view: TrialView) -> str:
        return f"trial #{self.ordinal(view)} ({view.name})"

    def _watched(self, runner: TrialRunnerView) -> RunnerWatch:
        watched = self._runners.get(id(runner))
        if watched is None:
            watched = self._runners[id(runner)] = RunnerWatch(runner, self)
        return watched

    # --- every call -----------------------------------------------------------------------------
    def _call(self, method: str, *args: Any) -> Any:
        runner = args[0] if args and isinstance(args[0], TrialRunnerView) else None
        if method == "set_search_properties":
            self._objective = (args[0], args[1])
        if (self._twin is None and self._twin_factory is not None and runner is not None
                and self._ended >= self._twin_after):
            self._make_twin(runner)
        twin_said: tuple[Any, ...] | None = None
        before = None
        if self._twin is not None and method not in _NOT_SHADOWED:
            before = rng_state()
            twin_said = self._ask_twin(method, args)
            set_rng_state(before)  # The scheduler draws what it would have drawn without a twin.
        watched = self._watched(runner) if runner is not None else None
        call_args = (watched, *args[1:]) if watched is not None else args
        # A call may nest: the scheduler stops a trial through the runner, and the runner tells it
        # (on_trial_remove) before the outer call returns. Each call logs its own actions.
        outer_actions = watched.actions if watched is not None else []
        if watched is not None:
            watched.actions = []
        try:
            raw = getattr(self.inner, method)(*call_args)
        except Exception as exc:
            self.checker.add("exception", f"{method}:{type(exc).__name__}",
                             f"{type(self.inner).__name__}.{method}() raised {describe_exception(exc)}")
            raw = exc
            value = self._fifo_choice(runner) if method == "choose_trial_to_run" else _SAFE.get(method)
        else:
            value = self._check(method, raw, runner, args)
        actions: list[Any] = []
        if watched is not None:
            actions, watched.actions = watched.actions, outer_actions
        if method in _NOT_SHADOWED:
            return value  # Not a decision; and the runner calls save() on a real-time throttle.
        said = self._logged(method, args, raw, actions)
        self.decisions.append(said)
        if twin_said is not None and twin_said != said:
            self._twin_differs(said, twin_said)
        if method in _ENDINGS:
            self._ended += 1
        return value

    def _check(self, method: str, value: Any, runner: TrialRunnerView | None, args: tuple[Any, ...]) -> Any:
        """``value`` if it is allowed; else the problem noted and a safe value in its place."""
        if method == "on_trial_result":
            if isinstance(value, str) and value in DECISIONS:
                return value
            self.checker.add("invalid-decision", "on_trial_result",
                             f"on_trial_result() returned {value!r} for {self.label(args[1])}; allowed: "
                             "CONTINUE, PAUSE, STOP")
            return CONTINUE
        if method == "decision_point":
            if value is None or type(value) is DecisionPoint:
                return value
            self.checker.add("decision-point-type", "decision_point",
                             f"decision_point() returned {value!r} ({type(value).__name__}) for "
                             f"{self.label(args[0])}; allowed: None or a tune_core.interfaces.DecisionPoint")
            return None
        if method == "choose_trial_to_run" and runner is not None:
            return self._check_choice(value, runner)
        return value

    def _check_choice(self, value: Any, runner: TrialRunnerView) -> Any:
        view = view_of(value)
        if view is None:
            return self._check_starvation(runner)
        if not isinstance(view, TrialView) or runner.get_trial(view.trial_id) is not view:
            self.checker.add("invalid-decision", "choose_trial_to_run:foreign",
                             f"choose_trial_to_run() returned {value!r}, which is not a trial of this run")
        elif view.is_finished():
            self.checker.add("finished-trial", "choose_trial_to_run",
                             f"choose_trial_to_run() returned {self.label(view)}, which had ended ({view.status})")
        elif view.status not in (PENDING, PAUSED):
            self.checker.add("invalid-decision", "choose_trial_to_run:status",
                             f"choose_trial_to_run() returned {self.label(view)}, which is {view.status}; "
                             "only a PENDING or PAUSED trial can be started")
        elif not runner.has_resources(view.resources):
            self.checker.add("invalid-decision", "choose_trial_to_run:resources",
                             f"choose_trial_to_run() returned {self.label(view)}, whose resources are not free "
                             "(check runner.has_resources(trial.resources) first)")
        else:
            return value
        return self._fifo_choice(runner)

    def _check_starvation(self, runner: TrialRunnerView) -> TrialView | None:
        """``None`` with nothing running and trials that fit waiting: they would wait forever."""
        if runner.trials_with_status(RUNNING):
            return None
        waiting = runner.trials_with_status(PENDING, PAUSED)
        chosen = self._fifo_choice(runner)
        if chosen is not None:
            names = ", ".join(self.label(t) for t in waiting[:3]) + (", ..." if len(waiting) > 3 else "")
            self.checker.add("starvation", "choose_trial_to_run",
                             f"choose_trial_to_run() returned None with no trial running and {len(waiting)} "
                             f"waiting that could start ({names}); the run would never end")
        return chosen

    @staticmethod
    def _fifo_choice(runner: TrialRunnerView | None) -> TrialView | None:
        """The trial FIFO would start: how the check keeps a run going past a broken choice."""
        if runner is None:
            return None
        from tune_core.schedulers.fifo import first_fitting

        return first_fitting(runner, PENDING) or first_fitting(runner, PAUSED)

    # --- the decision log -----------------------------------------------------------------------
    def _logged(self, method: str, args: tuple[Any, ...], value: Any, actions: list[Any]) -> tuple[Any, ...]:
        """The call as the log keeps it: comparable across runs (trials by their ordinal)."""
        subject: Any = None
        if method in ("decision_point",):
            subject = self.ordinal(args[0])
        elif len(args) >= 2 and isinstance(args[1], TrialView):
            subject = self.ordinal(args[1])
        if method == "on_trial_result":
            subject = (subject, args[2].get("training_iteration"))
        return (method, subject, self._plain(value), tuple(actions))

    def _plain(self, value: Any) -> Any:
        view = view_of(value)
        if isinstance(view, TrialView):
            return ("trial", self.ordinal(view))
        if type(value) is DecisionPoint:
            return ("point", value.attr, value.value)
        if isinstance(value, BaseException):
            return ("raised", type(value).__name__)
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        return f"<{type(value).__name__}>"  # Never a repr with an address: it would differ per run.

    # --- the twin -------------------------------------------------------------------------------
    def _make_twin(self, runner: TrialRunnerView) -> None:
        self._twin_factory, factory = None, self._twin_factory  # One twin per run.
        assert factory is not None
        try:
            state = self.inner.save()
        except Exception as exc:
            self.checker.add("exception", f"save:{type(exc).__name__}",
                             f"{type(self.inner).__name__}.save() raised {describe_exception(exc)}")
            return
        try:
            from tune_core.runtime.shipping import dumps

            state = pickle.loads(dumps(state))  # As the experiment state keeps it.
        except Exception as exc:
            self._lost(f"save() returned a state that cannot be pickled: {describe_exception(exc)}")
            return
        twin_runner = RunnerWatch(runner, self, apply=False)
        try:
            twin = factory()
            twin.set_search_properties(*self._objective)
            twin.restore(state)
            for view in runner.get_trials():  # As a resumed run tells it.
                twin.on_trial_add(twin_runner, view)
        except Exception as exc:
            self._lost(f"a new scheduler could not take back the state: {describe_exception(exc)}")
            return
        self._twin, self._twin_runner = twin, twin_runner
        self._twin_at = len(self.decisions)

    def _ask_twin(self, method: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        twin, twin_runner = self._twin, self._twin_runner
        assert twin is not None and twin_runner is not None
        call_args = (twin_runner, *args[1:]) if args and isinstance(args[0], TrialRunnerView) else args
        twin_runner.actions = []
        try:
            raw = getattr(twin, method)(*call_args)
        except Exception as exc:
            raw = exc
        return self._logged(method, args, raw, twin_runner.actions)

    def _twin_differs(self, said: tuple[Any, ...], twin_said: tuple[Any, ...]) -> None:
        calls = len(self.decisions) - self._twin_at
        self._lost(f"{calls} calls after save()/restore(), {describe_call(said)}: the scheduler that saved "
                   f"answered {describe_answer(said)}, the one restored from its state "
                   f"{describe_answer(twin_said)}")

    def _lost(self, message: str) -> None:
        self.checker.add("state-lost-on-restore", "twin", message)
        self._twin = self._twin_runner = None
