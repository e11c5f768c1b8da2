"""What ``check_scheduler`` finds: the rules a scheduler must keep, each problem, and the report
(``Checker`` collects the problems while the runs go on).

Every rule has a name (``Problem.rule``) and one sentence saying what breaking it means; the test
kit's page (``docs/plugins/testing.md``) explains each one and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RULES", "Checker", "Problem", "SchedulerReport"]

#: Rule name -> what breaking it means.
RULES: dict[str, str] = {
    "invalid-decision": (
        "on_trial_result returned something other than CONTINUE, PAUSE or STOP, or choose_trial_to_run "
        "returned something other than None or a PENDING or PAUSED trial of this run whose resources "
        "are free, or the scheduler acted through the runner on something that is not a trial of this run"
    ),
    "exception": "a scheduler method raised",
    "decision-point-type": "decision_point returned something other than None or a DecisionPoint",
    "finished-trial": (
        "the scheduler acted on a trial that had ended (TERMINATED or ERROR, after on_trial_complete, "
        "on_trial_remove or on_trial_error): paused, stopped, restarted or saved it through the "
        "runner, or returned it from choose_trial_to_run"
    ),
    "starvation": (
        "with no trial running, choose_trial_to_run returned None while PENDING or PAUSED trials "
        "could start: they would wait forever and the run never ends"
    ),
    "state-lost-on-restore": (
        "a scheduler made with the factory and given the save() of another decided differently from "
        "it on the same continued run (or save() could not be pickled, or restore() raised)"
    ),
    "nondeterministic": "two runs with the same seed made different decisions",
}


@dataclass
class Problem:
    """One rule broken, by one scheduler; ``count`` times, ``message`` describing the first."""

    rule: str
    scheduler: str
    message: str
    count: int = 1

    def __str__(self) -> str:
        times = f" ({self.count} times)" if self.count > 1 else ""
        return f"[{self.rule}] {self.scheduler}: {self.message}{times}"


@dataclass
class SchedulerReport:
    """The outcome of ``check_scheduler``: ``ok`` when ``problems`` is empty."""

    scheduler: str
    problems: list[Problem] = field(default_factory=list)
    #: The simulated runs the check made (each a full experiment).
    runs: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rules_broken(self) -> list[str]:
        """The names of the rules broken, each once, in the order first seen."""
        return list(dict.fromkeys(p.rule for p in self.problems))

    def __str__(self) -> str:
        if self.ok:
            return f"{self.scheduler}: conforms ({self.runs} simulated runs)"
        lines = [f"{self.scheduler} broke {len(self.rules_broken)} rule(s) in {self.runs} simulated runs:"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)

    def raise_if_problems(self) -> None:
        """Raise ``AssertionError`` listing every problem, if there is one."""
        if self.problems:
            raise AssertionError(str(self))


class Checker:
    """The problems found by the runs of one check, each (rule, key) once with a count."""

    def __init__(self, scheduler: str) -> None:
        self.scheduler = scheduler
        self.problems: dict[tuple[str, str], Problem] = {}
        #: Later runs repeat what the first found: they add new problems but do not count old ones.
        self.counting = True

    def add(self, rule: str, key: str, message: str) -> None:
        problem = self.problems.get((rule, key))
        if problem is None:
            self.problems[(rule, key)] = Problem(rule, self.scheduler, message)
        elif self.counting:
            problem.count += 1
