"""``tune-core viskit DIR [--port N] [--host H]``: VisKit's own frontend (``viskit.frontend``) on an experiment.

Imported only when the subcommand runs (``lazy`` in ``plugin.py``): it imports flask, plotly and matplotlib
through VisKit. VisKit's frontend keeps its data in module globals filled by ``reload_data()`` from a module
global ``args``, which its ``__main__`` block sets; this module sets the same and runs VisKit's Flask app.
"""

from __future__ import annotations

import argparse
import os
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

from tune_core import TuneError
from tune_viskit.install import INSTALL_COMMAND
from tune_viskit.layout import PROGRESS_FILE, VISKIT_DIR

__all__ = ["add_arguments", "find_data_paths", "load_frontend", "run", "serve"]

#: VisKit's own default port.
DEFAULT_PORT = 5000
#: Loopback by default: VisKit's frontend evaluates expressions sent by the page.
DEFAULT_HOST = "127.0.0.1"
_PLOTLY_JS = "/tune-viskit/plotly.min.js"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment_dir",
                        help="an experiment's directory (or a results root holding several), run with the "
                             "viskit logger")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}; 0.0.0.0 serves other machines)")


def _holds_trials(folder: Path) -> bool:
    return any((child / PROGRESS_FILE).is_file() for child in folder.iterdir() if child.is_dir())


def find_data_paths(directory: str | os.PathLike[str]) -> list[str]:
    """The ``viskit`` folders VisKit should read for ``directory``: its own, or those of the experiments
    in it (a results root), or ``directory`` itself when it is such a folder.

    Raises:
        TuneError: if ``directory`` does not exist or holds no output of the viskit logger.
    """
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise TuneError(f"tune-core viskit: {str(directory)!r} is not a directory")
    own = root / VISKIT_DIR
    if own.is_dir():
        return [str(own)]
    nested = sorted(p for p in root.glob(f"*/{VISKIT_DIR}") if p.is_dir())
    if nested:
        return [str(p) for p in nested]
    if root.name == VISKIT_DIR and _holds_trials(root):
        return [str(root)]
    raise TuneError(
        f"tune-core viskit: no output of the viskit logger in {str(directory)!r} (looked for "
        f"{VISKIT_DIR}/ in it and in its subdirectories); run the experiment with it, e.g. "
        f"loggers=['json', 'csv', 'viskit']")


def load_frontend() -> ModuleType:
    """``viskit.frontend``, or a TuneError giving the one install command."""
    try:
        from viskit import frontend
    except ImportError as exc:  # viskit itself, or flask/plotly/matplotlib/numpy that it imports
        raise TuneError(
            f"tune-core viskit needs VisKit's frontend, which does not import here ({exc}); install it "
            f"with: {INSTALL_COMMAND}") from exc
    return frontend


def _add_page(app: Any) -> None:
    """Serve tune-viskit's page where viskit ships no ``templates/main.html`` (PyPI's 0.0.3 ships none,
    nor the plotly.js its page loads), and plotly.js from the installed plotly package."""
    import jinja2
    import plotly

    ours = jinja2.FileSystemLoader(str(resources.files("tune_viskit") / "templates"))
    theirs = app.jinja_loader
    app.jinja_loader = jinja2.ChoiceLoader([theirs, ours] if theirs is not None else [ours])
    js_dir = os.path.join(os.path.dirname(plotly.__file__), "package_data")

    def plotly_js() -> Any:
        import flask

        return flask.send_from_directory(js_dir, "plotly.min.js", mimetype="application/javascript")

    if _PLOTLY_JS not in {rule.rule for rule in app.url_map.iter_rules()}:
        app.add_url_rule(_PLOTLY_JS, "tune_viskit_plotly_js", plotly_js)


#: Parameters VisKit leaves out of its menus (``extract_distinct_params``' default).
_EXCLUDED = ("exp_name", "seed", "log_dir")


def distinct_params(exps_data: list[Any]) -> list[tuple[str, list[Any]]]:
    """The parameters that vary across ``exps_data``, each with its values: what VisKit's
    ``extract_distinct_params`` returns, for the viskit releases where it fails (0.0.3's ``smart_repr``
    turns every ``(key, value)`` pair into ``tuple()``, so it raises on any experiment)."""
    values: dict[str, dict[str, Any]] = {}
    for exp in exps_data:
        for key, value in exp.flat_params.items():
            if not key.startswith(_EXCLUDED):
                values.setdefault(key, {}).setdefault(repr(value), value)
    return [(key, sorted(found.values(), key=_order)) for key, found in sorted(values.items()) if len(found) > 1]


def _order(value: Any) -> tuple[int, Any]:
    """Numbers by value, then anything else by its repr (values of one key may mix types)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, repr(value))


def _load(frontend: Any, data_paths: list[str]) -> None:
    """Fill VisKit's frontend as its ``__main__`` does (``reload_data``), with ``distinct_params`` as the
    fallback for VisKit's own where that raises."""
    frontend.args = argparse.Namespace(data_paths=data_paths, disable_variant=False, debug=False,
                                       port=0, prefix="???")
    try:
        frontend.reload_data()
    except (IndexError, NameError, TypeError):
        # reload_data sets exps_data and plottable_keys before it fails in extract_distinct_params.
        frontend.distinct_params = distinct_params(frontend.exps_data)


class _GraphObjects:
    """``plotly.graph_objs`` for VisKit's frontend, whose band outline is ``go.Line(color="transparent")``:
    plotly (4 and later) refuses that color name, so every plot failed. ``rgba(0,0,0,0)`` draws the same."""

    def __init__(self, go: ModuleType) -> None:
        self._go = go

    def __getattr__(self, name: str) -> Any:
        return getattr(self._go, name)

    def Line(self, **kwargs: Any) -> Any:  # the name VisKit calls
        if kwargs.get("color") == "transparent":
            kwargs["color"] = "rgba(0,0,0,0)"
        return self._go.scatter.Line(**kwargs)


def serve(frontend: Any, data_paths: list[str], host: str, port: int) -> None:
    """Load the experiments into VisKit's frontend, then run its app until interrupted."""
    _load(frontend, data_paths)
    if not isinstance(frontend.go, _GraphObjects):
        frontend.go = _GraphObjects(frontend.go)
    if not frontend.exps_data:
        raise TuneError(f"tune-core viskit: VisKit found no trial in {', '.join(data_paths)}")
    _add_page(frontend.app)
    print(f"VisKit on {len(frontend.exps_data)} trials: http://{host}:{port}", flush=True)
    frontend.app.run(host=host, port=port, debug=False, use_reloader=False)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise TuneError(f"tune-core viskit: --port must be between 1 and 65535, got {args.port}")
    paths = find_data_paths(args.experiment_dir)
    serve(load_frontend(), paths, args.host, args.port)
    return 0
