"""Who may use the Client API and what it accepts: the token (missing, wrong, another run's), bodies
that are not plain JSON or are too big, the token file's mode, the loopback binding."""

from __future__ import annotations

import http.client
import json
import pickle
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from conftest import Served, finish, serve
from tune_server import TuneClient
from tune_server.server import TuneServer

import tune_core as tune

ADD = {"name": "intruder", "spec": {"run": "server_trainables:steps", "config": {"iters": 1}}}


def call(served: Served, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None, token: str | None = "file") -> tuple[int, dict[str, str], Any]:
    """One raw HTTP request; (status, headers, JSON body)."""
    info = json.loads((served.experiment_dir / ".tune_server.json").read_text())
    host, port = info["address"].rsplit(":", 1)
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {info['token'] if token == 'file' else token}"
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(raw)
    finally:
        connection.close()


def snapshot(served: Served) -> list[tuple[str, str, str]]:
    return [(t["trial_id"], t["experiment"], t["status"]) for t in served.client().get_all_trials()]


@pytest.fixture(scope="module")
def other_token(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The token of another run (finished): worthless against this one."""
    other = serve(tmp_path_factory.mktemp("other"), "other", {"run": "server_trainables:steps",
                                                               "config": {"iters": 1, "sleep": 0.01}},
                  executor="thread")
    token: str = json.loads((other.experiment_dir / ".tune_server.json").read_text())["token"]
    finish(other)
    return token


@pytest.mark.parametrize("who", ["none", "wrong", "other run's", "not bearer"])
def test_without_the_token_nothing_changes(served: Served, other_token: str, who: str) -> None:
    token = {"none": None, "wrong": "x" * 43, "other run's": other_token}.get(who)
    headers = {"Authorization": f"Basic {other_token}"} if who == "not bearer" else {}
    before = snapshot(served)
    trial_id = before[0][0]
    for method, path, body in [("GET", "/api/trials", None), ("GET", "/api/status", None),
                               ("GET", f"/api/trials/{trial_id}", None), ("GET", "/api/openapi.json", None),
                               ("POST", "/api/trials", json.dumps(ADD).encode()),
                               ("POST", f"/api/trials/{trial_id}/stop", None), ("GET", "/api/nothing", None)]:
        status, response_headers, answer = call(served, method, path, body, {**headers, "Content-Type":
                                                "application/json"}, token=token)
        assert status == 401, (method, path, status, answer)
        assert "bearer token" in answer["error"] and response_headers["www-authenticate"] == "Bearer"
        assert not any(h.startswith("access-control-") for h in response_headers)  # No CORS.
    assert snapshot(served) == before
    with pytest.raises(tune.TuneError, match="401: missing or wrong bearer token"):
        TuneClient(served.client().address, token=token or "").get_all_trials()


def test_bodies_that_are_not_plain_json_are_refused(served: Served) -> None:
    before = snapshot(served)
    pickled = pickle.dumps(ADD)
    for content_type in ("application/python-pickle", "application/octet-stream", None):
        status, _, answer = call(served, "POST", "/api/trials", pickled,
                                 {"Content-Type": content_type} if content_type else {})
        assert status == 415 and "must be JSON" in answer["error"]
    status, _, answer = call(served, "POST", "/api/trials", pickled, {"Content-Type": "application/json"})
    assert status == 400 and "not valid JSON" in answer["error"]
    bad = [({"name": "x", "spec": {"run": {"__reduce__": "os.system"}}}, "'spec.run' must be a string"),
           ({"name": "../escape", "spec": {"run": "server_trainables:steps"}}, "'name' must be"),
           ({"name": "x", "spec": {"run": "server_trainables:steps", "local_dir": "/tmp"}}, "'spec.local_dir'"),
           ({"name": "x", "spec": {"run": "server_trainables:steps", "stopp": {}}}, "unknown spec key 'stopp'"),
           ({"name": "x", "spec": {"run": "no_such_module:f"}}, "no_such_module"),
           ({"name": "x"}, "'spec' must be an object"), ([1], "must be an object"),
           ({**ADD, "extra": 1}, "unknown key")]
    for body, message in bad:
        status, _, answer = call(served, "POST", "/api/trials", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
        assert status in (400, 422) and message in answer["error"], (body, status, answer)
    status, _, answer = call(served, "GET", "/api/trials/nope")
    assert status == 404 and answer == {"error": "no trial with id 'nope' in this experiment"}
    status, _, answer = call(served, "POST", "/api/trials/nope/stop")
    assert status == 404 and "'nope'" in answer["error"]
    status, _, answer = call(served, "DELETE", "/api/trials")
    assert status == 405 and "DELETE" in answer["error"]
    assert snapshot(served) == before


def test_oversized_bodies_are_413(served: Served) -> None:
    before = snapshot(served)
    big = json.dumps({**ADD, "spec": {**ADD["spec"], "config": {"pad": "x" * 70_000}}}).encode()
    status, _, answer = call(served, "POST", "/api/trials", big, {"Content-Type": "application/json"})
    assert status == 413 and "65536 bytes" in answer["error"]
    # A Content-Length that lies (small) does not get past the limit either: chunked, no length at all.
    info = json.loads((served.experiment_dir / ".tune_server.json").read_text())
    host, port = info["address"].rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("POST", "/api/trials", body=iter([big[:40_000], big[40_000:]]), encode_chunked=True,
                       headers={"Authorization": f"Bearer {info['token']}", "Content-Type": "application/json",
                                "Transfer-Encoding": "chunked"})
    response = connection.getresponse()
    assert response.status == 413 and "65536 bytes" in json.loads(response.read())["error"]
    connection.close()
    assert snapshot(served) == before


def test_token_file_and_binding(served: Served) -> None:
    path = served.experiment_dir / ".tune_server.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    info = json.loads(path.read_text())
    assert set(info) == {"address", "token"} and len(info["token"]) >= 40
    host, port = info["address"].rsplit(":", 1)
    assert host == "127.0.0.1"
    # Listening on loopback only: the machine's other addresses refuse the connection.
    others = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
    for address in others:
        if address.startswith("127."):
            continue
        with pytest.raises(OSError):
            socket.create_connection((address, int(port)), timeout=2).close()
    assert not list(served.experiment_dir.glob("*.tmp"))


def test_a_busy_port_is_a_clear_error(served: Served) -> None:
    port = int(json.loads((served.experiment_dir / ".tune_server.json").read_text())["address"].rsplit(":", 1)[1])
    with pytest.raises(tune.TuneError, match=rf"cannot listen on 127.0.0.1:{port}"):
        TuneServer(None, port=port)  # type: ignore[arg-type]


def test_client_finds_the_token(served: Served, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    info = json.loads((served.experiment_dir / ".tune_server.json").read_text())
    monkeypatch.setenv("TUNE_SERVER_TOKEN", info["token"])
    assert len(TuneClient(info["address"]).get_all_trials()) >= 2
    with pytest.raises(tune.TuneError, match="cannot read the server's token file"):
        TuneClient(experiment_dir=tmp_path)
