"""Small file-system helpers shared by the driver and the worker processes (kept import-light)."""

from __future__ import annotations

import os

__all__ = ["make_dir"]


def make_dir(path: str) -> bool:
    """``os.makedirs(path, exist_ok=True)``, in one system call when the parent exists.

    Returns whether the directory was made now (rather than already there).
    """
    try:
        os.mkdir(path)
    except FileExistsError:
        return False
    except FileNotFoundError:
        os.makedirs(path, exist_ok=True)
    return True
