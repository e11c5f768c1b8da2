"""``tune_core.report(**metrics)``: report from a function trainable that takes only ``config``.

The seed's form, ``def f(config, reporter): reporter(**metrics)``, needs none of this.
"""

from __future__ import annotations

from typing import Any

from tune_core.errors import TuneError

__all__ = ["report"]


def report(**metrics: Any) -> None:
    """Report one result of the trial running in this process."""
    from tune_core.executors.local.session import current_session

    session = current_session()
    if session is None:
        raise TuneError("tune_core.report() was called outside a trial; call it inside a trainable run by tune-core")
    session.report(**metrics)
