"""The plugin as tune-core sees it: the ``tensorboard`` logger registered from the installed
distribution, on by default, conforming to the hook specs, importing only public tune-core modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tune_tensorboard
import tune_tensorboard.plugin
from tune_tensorboard import TensorBoardLogger

from tune_core import TuneError
from tune_core.testing import (
    assert_imports_only_public,
    assert_plugin_conforms,
    plugins_command_line,
)

SRC = Path(tune_tensorboard.__file__).parent


def test_plugin_module_conforms() -> None:
    assert_plugin_conforms(tune_tensorboard.plugin)


def test_registered_on_by_default() -> None:
    (spec,) = tune_tensorboard.plugin.tune_loggers()
    assert spec.name == "tensorboard" and spec.default_on
    assert type(spec.factory()) is TensorBoardLogger


def test_listed_by_the_plugins_command() -> None:
    line = plugins_command_line("tune-tensorboard")
    assert "logger: tensorboard" in line


def test_only_public_tune_core_modules_are_imported() -> None:
    assert_imports_only_public(SRC)


def test_importing_the_logger_keeps_the_driver_single_threaded() -> None:
    """No numpy (whose BLAS starts a thread): the local executor can still fork its workers."""
    code = ("import os, sys, tune_tensorboard.logger; "
            "print(len(os.listdir('/proc/self/task')), 'numpy' in sys.modules, 'tensorboardX' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["1", "False", "False"], out.stderr


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"exclude": "pid"}, ["`exclude`", "list of result field names", "'pid'"]),
    ({"exclude": 3}, ["`exclude`", "3 (int)"]),
    ({"exclude": ["pid", ""]}, ["`exclude`", "non-empty field names", "''"]),
    ({"hparams": "yes"}, ["`hparams`", "true or false", "'yes'"]),
])
def test_bad_options_name_the_option(kwargs: dict[str, object], words: list[str]) -> None:
    with pytest.raises(TuneError) as info:
        TensorBoardLogger(**kwargs)  # type: ignore[arg-type]
    for word in words:
        assert word in str(info.value)
