"""``TuneClient``: the Client API from Python (and ``tune-core client``), over urllib only."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tune_core import TuneError

__all__ = ["TOKEN_ENV", "TuneClient"]

TOKEN_ENV = "TUNE_SERVER_TOKEN"
TOKEN_FILE = ".tune_server.json"  # The server's name for it (tune_server.server.TOKEN_FILE).


class TuneClient:
    """Lists, adds and stops the trials of a running experiment through its server.

    Args:
        address: ``host:port`` or a URL (default: the experiment dir's token file, else localhost:4321).
        token: the server's bearer token (default: the experiment dir's token file, else $TUNE_SERVER_TOKEN).
        experiment_dir: the running experiment's directory, where the server wrote ``.tune_server.json``.
        timeout_s: how long one request may take.
    """

    def __init__(self, address: str | None = None, token: str | None = None,
                 experiment_dir: str | os.PathLike[str] | None = None, timeout_s: float = 30.0) -> None:
        found: dict[str, Any] = {}
        if experiment_dir is not None:
            path = Path(experiment_dir, TOKEN_FILE)
            try:
                found = json.loads(path.read_text())
            except OSError as exc:
                raise TuneError(f"cannot read the server's token file {path}: {exc.strerror} (is the "
                                "experiment running with with_server=True / --server?)") from None
            except ValueError as exc:
                raise TuneError(f"{path} is not valid JSON: {exc}") from None
        address = address or found.get("address") or "localhost:4321"
        self.token = token or found.get("token") or os.environ.get(TOKEN_ENV)
        self.address = address if "://" in address else f"http://{address}"
        self.timeout_s = timeout_s

    # --- the seed's API ---------------------------------------------------------------------------
    def get_all_trials(self) -> list[dict[str, Any]]:
        """Every trial's summary (``trial_id``, ``name``, ``status``, ``config``, ``last_result``, ...)."""
        trials: list[dict[str, Any]] = self._request("GET", "/api/trials")
        return trials

    def get_trial(self, trial_id: str) -> dict[str, Any]:
        trial: dict[str, Any] = self._request("GET", f"/api/trials/{_quote(trial_id)}")
        return trial

    def add_trial(self, name: str, trial_spec: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Add the trials of an experiment spec (plain JSON; ``run`` a registered name or 'module:function')."""
        added: list[dict[str, Any]] = self._request("POST", "/api/trials", {"name": name, "spec": dict(trial_spec)})
        return added

    def stop_trial(self, trial_id: str) -> dict[str, Any]:
        stopped: dict[str, Any] = self._request("POST", f"/api/trials/{_quote(trial_id)}/stop")
        return stopped

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "/api/status")
        return result

    # ----------------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            try:
                data = json.dumps(body, allow_nan=False).encode()
            except (TypeError, ValueError) as exc:
                raise TuneError(f"the request is not plain JSON: {exc}") from None
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.address + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                message = json.loads(raw)["error"]
            except (ValueError, KeyError, TypeError):
                message = raw.decode(errors="replace")[:200] or exc.reason
            raise TuneError(f"{method} {path}: {exc.code}: {message}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TuneError(f"cannot reach the Tune server at {self.address}: {reason}") from None


def _quote(part: str) -> str:
    from urllib.parse import quote

    return quote(str(part), safe="")
