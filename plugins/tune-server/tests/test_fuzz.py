"""Fuzzing the running server against its own OpenAPI schema (schemathesis): no 5xx, every 4xx a JSON
``{"error": ...}``, and the experiment unharmed afterwards."""

from __future__ import annotations

import json
from typing import Any

import schemathesis
import schemathesis.config
from conftest import Served
from hypothesis import HealthCheck, settings
from tune_server.server import OPENAPI_SCHEMA

#: Valid requests and invalid ones (wrong types, missing keys, bad paths): both must get a JSON answer.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict({"generation": {"mode": "all"}})
schema = schemathesis.openapi.from_dict(OPENAPI_SCHEMA, config=CONFIG)
SEEN: dict[str, int] = {}


def test_the_served_schema_is_the_fuzzed_one(served: Served) -> None:
    info = json.loads((served.experiment_dir / ".tune_server.json").read_text())
    client = served.client()
    assert client._request("GET", "/api/openapi.json") == OPENAPI_SCHEMA
    assert info["address"].startswith("127.0.0.1:")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz(case: Any, served: Served) -> None:
    info = json.loads((served.experiment_dir / ".tune_server.json").read_text())
    response = case.call(base_url=f"http://{info['address']}",
                         headers={"Authorization": f"Bearer {info['token']}"}, timeout=30)
    SEEN[str(response.status_code)] = SEEN.get(str(response.status_code), 0) + 1
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], response.text


def test_the_experiment_is_unharmed(served: Served) -> None:
    """After the fuzzing: the two trials still RUNNING and reporting, nothing added or stopped."""
    trials = served.client().get_all_trials()
    assert [t["experiment"] for t in trials] == ["served", "served"], trials
    assert {t["status"] for t in trials} == {"RUNNING"}
    assert all(t["last_result"].get("training_iteration", 0) >= 1 for t in trials)
    assert served.thread.is_alive()
    # The fuzzing reached the handlers (200s) and their refusals (4xx), not just the token check.
    assert SEEN.get("200", 0) >= 5 and sum(n for code, n in SEEN.items() if code not in ("200", "401")) >= 5, SEEN
    print("fuzz statuses:", SEEN)
