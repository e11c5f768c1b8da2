"""The driver's storage: where trial directories, error files and checkpoints live.

Trials may run where the driver's disk is not mounted; everything that must last (logs, errors,
checkpoints) is kept here, on the driver's side, and only here. A checkpoint arrives as a directory
the driver can read (adopted where it is) or as bytes (unpacked into the trial's directory). Today
this is the local disk; object storage (fsspec) would be another implementation of the same calls.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from tune_core import checkpoints
from tune_core.checkpoints import Checkpoint
from tune_core.paths import make_dir

__all__ = ["TrialStorage"]


class TrialStorage:
    """Trial directories and what goes in them, on the driver's disk."""

    def __init__(self) -> None:
        self._listed: dict[str, set[str]] = {}
        #: Per experiment directory: names there before the experiment first ran, names taken now.
        self._preexisting: dict[str, set[str]] = {}
        self._taken: dict[str, set[str]] = {}

    def trial_dir(self, experiment_dir: str, name: str, trial_id: str) -> tuple[str, bool]:
        """Choose a trial's directory; return it and whether it holds an unrecorded attempt of it.

        Names are unique within a run. Directories that were there before the experiment first ran
        (``preexisting``, kept in the state across resumes) are never reused: such a clash gets the
        trial id appended. A directory this run made but whose trial the state did not record yet
        (the driver was killed in between) is the same trial's: the caller adopts it and cuts it
        back. Listed once per experiment rather than looked up once per trial.
        """
        on_disk = self.names_in(experiment_dir)
        taken = self._taken.get(experiment_dir)
        if taken is None:
            preexisting = self._preexisting.setdefault(experiment_dir, set(on_disk))
            taken = self._taken[experiment_dir] = set(preexisting)
        if name in taken:
            name = f"{name}_{trial_id}"
        taken.add(name)
        return os.path.join(experiment_dir, name), name in on_disk

    def set_preexisting(self, experiment_dir: str, names: set[str], claimed: set[str]) -> None:
        """On resume: the names there before the first run, and those the state's trials own."""
        self._preexisting[experiment_dir] = set(names)
        self._taken[experiment_dir] = set(names) | set(claimed)

    def preexisting(self, experiment_dir: str) -> set[str]:
        """The names that were in ``experiment_dir`` before the experiment first ran (for the state)."""
        return self._preexisting.get(experiment_dir, set())

    def names_in(self, experiment_dir: str) -> set[str]:
        """The names already in ``experiment_dir``, listed once per run (not once per trial)."""
        names = self._listed.get(experiment_dir)
        if names is None:
            try:
                names = set(os.listdir(experiment_dir))
            except FileNotFoundError:
                names = set()
            self._listed[experiment_dir] = names
        return names

    def make_trial_dir(self, trial_dir: str) -> bool:
        """Create the trial's directory; return whether it is new."""
        return make_dir(trial_dir)

    def prepare_restart(self, trial_dir: str) -> None:
        """Before a trial runs again in ``trial_dir``: drop checkpoints a killed attempt left half written."""
        checkpoints.remove_partial(trial_dir)

    def write_error(self, trial_dir: str, number: int, text: str) -> str:
        """Keep the traceback or death reason of failure ``number``; return the file's path."""
        make_dir(trial_dir)
        path = os.path.join(trial_dir, f"error_{number}.txt")
        with open(path, "w") as f:
            f.write(text)
        return path

    def store_checkpoint(self, trial_dir: str, checkpoint: Checkpoint) -> str:
        """Keep ``checkpoint`` of the trial in ``trial_dir``; return its directory here."""
        if checkpoint.path is not None:
            return checkpoint.path  # Written in place on this disk, complete and renamed already.
        assert checkpoint.data is not None
        make_dir(trial_dir)
        tmp = tempfile.mkdtemp(prefix=checkpoints.TMP_PREFIX, dir=trial_dir)
        os.rmdir(tmp)
        try:
            checkpoints.unpack(checkpoint.data, tmp)
            final = os.path.join(trial_dir, checkpoints.dir_name(checkpoint.iteration))
            checkpoints.publish(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def copy_checkpoint(self, source: str, trial_dir: str, iteration: int) -> str:
        """Copy another trial's checkpoint into ``trial_dir`` (hard links where the disk allows:
        a published checkpoint never changes); return the copy's directory."""
        final = os.path.join(trial_dir, checkpoints.dir_name(iteration))
        if os.path.abspath(source) == os.path.abspath(final):
            return final
        make_dir(trial_dir)
        tmp = tempfile.mkdtemp(prefix=checkpoints.TMP_PREFIX, dir=trial_dir)
        os.rmdir(tmp)
        try:
            shutil.copytree(source, tmp, copy_function=_link_or_copy)
            checkpoints.publish(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def delete_checkpoint(self, path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
