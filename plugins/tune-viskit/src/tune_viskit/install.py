"""``python -m tune_viskit.install``: install VisKit (PyPI ``viskit`` 0.0.3) and what its frontend imports.

VisKit's published metadata requires ``plotly @ https://api.github.com/...tarball/<commit>``, a plotly of
2019 fetched from GitHub. So ``pip install viskit`` fails wherever GitHub is out of reach (and would
install that old plotly elsewhere), and pip 26 refuses even ``pip install --no-deps viskit``:
"Distributions from PyPI cannot declare direct URL dependencies". What VisKit imports runs on today's
releases, so this installs ``flask``, ``plotly``, ``numpy`` and ``matplotlib`` normally, then VisKit
alone (``--no-deps``), its file checked against the sha256 below. With pip 26 or later, that one step runs
a pip older than 26 from a temporary folder, against this same Python: the metadata check that pip 26
added guards dependency resolution, which ``--no-deps`` does not do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from importlib import metadata

__all__ = ["FRONTEND_DEPS", "INSTALL_COMMAND", "VISKIT", "VISKIT_SHA256", "main"]

#: The one command the docs and the error messages give.
INSTALL_COMMAND = "python -m tune_viskit.install"
VISKIT = "viskit==0.0.3"
#: sha256 of viskit-0.0.3.tar.gz, VisKit's only file on PyPI.
VISKIT_SHA256 = "59096fd9ed4d3fe9c5bdda81b173a14fb55a563c9d91ef7a6f6e5bf5367116f3"
#: What ``viskit.frontend`` imports (its ``requires`` less the plotly URL, plus nothing else).
FRONTEND_DEPS = ("flask", "plotly", "numpy", "matplotlib")
#: The first pip that refuses a PyPI distribution declaring a URL dependency, even with ``--no-deps``.
_REFUSING_PIP = 26


def _pip_major() -> int:
    try:
        return int(metadata.version("pip").split(".", 1)[0])
    except (metadata.PackageNotFoundError, ValueError):
        return 0


def _pip(*args: str, env: dict[str, str] | None = None) -> None:
    command = [sys.executable, "-m", "pip", *args]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, env=env)


def main() -> int:
    """Install the frontend's dependencies, then VisKit without its dependency metadata."""
    if _pip_major() == 0:
        print(f"tune_viskit.install: pip is not installed for {sys.executable}", file=sys.stderr)
        return 1
    _pip("install", *FRONTEND_DEPS)
    with tempfile.TemporaryDirectory(prefix="tune-viskit-") as tmp:
        requirements = os.path.join(tmp, "viskit.txt")
        with open(requirements, "w", encoding="utf-8") as fh:
            fh.write(f"{VISKIT} --hash=sha256:{VISKIT_SHA256}\n")
        env = None
        if _pip_major() >= _REFUSING_PIP:
            older = os.path.join(tmp, "pip")
            _pip("install", "--quiet", "--target", older, f"pip<{_REFUSING_PIP}")
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                p for p in (older, os.environ.get("PYTHONPATH")) if p)}
        _pip("install", "--no-deps", "--require-hashes", "-r", requirements, env=env)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:
        print(f"tune_viskit.install: {exc}", file=sys.stderr)
        sys.exit(exc.returncode or 1)
