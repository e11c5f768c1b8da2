"""The Client API server: Starlette on uvicorn, in a daemon thread of its own, beside one run.

Every ``/api`` request needs ``Authorization: Bearer <token>``; the token is made when the server
starts, printed once to stderr and written (mode 0600) to ``<experiment dir>/.tune_server.json``.
Handlers call ``ExperimentControl`` (which waits for the runner's next step) in the thread pool, so
the event loop stays free; the trial listing is cached briefly so that many pollers cost the runner
little. Errors are JSON: ``{"error": "..."}``.

``GET /`` serves the live dashboard (``dashboard/``: plain HTML, JS and CSS with uPlot bundled, nothing
fetched from elsewhere). The page needs no token to load; it reads the token from the URL's fragment
(``/#token=...``, never sent to the server) and sends it with every ``/api`` call like any client.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tune_core import TuneError
from tune_core.control import ExperimentControl
from tune_core.interfaces import Service
from tune_core.loggers import RESULT_FILE

__all__ = ["OPENAPI_SCHEMA", "TOKEN_FILE", "TuneServer", "build_app", "read_metric"]

TOKEN_FILE = ".tune_server.json"
MAX_BODY = 64 * 1024
#: New experiments' names become directory names: nothing that walks out of the results root.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=,-]{0,99}$")
#: Spec keys a client may not set: where files go is the run's choice, not a remote caller's.
REFUSED_SPEC_KEYS = ("local_dir", "upload_dir")
#: A metric name asked for by ``/results``: a result key, or a '/'-separated path into nested results.
METRIC_RE = re.compile(r"^[A-Za-z0-9_.:/-]{1,200}$")
#: The most of a result file one ``/results`` answer reads; the page asks again from the offset returned.
MAX_RESULTS_READ = 4 * 1024 * 1024
DASHBOARD_DIR = Path(__file__).with_name("dashboard")
#: The dashboard's files (a fixed list: no path from a request ever reaches the file system) and their types.
DASHBOARD_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
    "/vendor/uPlot.iife.min.js": ("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
    "/vendor/uPlot.min.css": ("vendor/uPlot.min.css", "text/css; charset=utf-8"),
    "/vendor/uPlot.LICENSE": ("vendor/uPlot.LICENSE", "text/plain; charset=utf-8"),
}
#: The page may talk to this server only, and nothing may frame it.
DASHBOARD_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache",
}

_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
_TRIAL = {"type": "object", "required": ["trial_id", "name", "status"], "properties": {
    "trial_id": {"type": "string"}, "name": {"type": "string"}, "experiment": {"type": "string"},
    "status": {"type": "string"}, "config": {"type": "object"}, "last_result": {"type": "object"},
    "location": {"type": ["string", "null"]}, "logdir": {"type": ["string", "null"]},
    "num_failures": {"type": "integer"}, "error": {"type": ["string", "null"]},
    "resources": {"type": "object"}, "checkpoint_iteration": {"type": ["integer", "null"]}}}
_SPEC = {"type": "object", "required": ["run"], "properties": {
    "run": {"type": "string", "description": "a registered trainable's name or 'module:function'"},
    "config": {"type": "object"}, "stop": {"type": "object"}, "resources": {"type": "object"},
    "num_samples": {"type": "integer", "minimum": 1}}}
_ADD = {"type": "object", "required": ["name", "spec"], "additionalProperties": False,
        "properties": {"name": {"type": "string", "pattern": NAME_RE.pattern}, "spec": _SPEC}}


def _responses(ok: dict[str, Any], *codes: str) -> dict[str, Any]:
    errors = {code: {"description": "error", "content": {"application/json": {"schema": _ERROR}}}
              for code in ("401", *codes)}
    return {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}}, **errors}


_TRIAL_ID = [{"name": "trial_id", "in": "path", "required": True, "schema": {"type": "string"}}]
_RESULTS_PARAMS = [*_TRIAL_ID,
                   {"name": "metric", "in": "query", "required": True,
                    "schema": {"type": "string", "pattern": METRIC_RE.pattern}},
                   {"name": "offset", "in": "query", "required": False,
                    "schema": {"type": "integer", "minimum": 0}}]
_RESULTS = {"type": "object", "required": ["trial_id", "metric", "points", "start", "offset"], "properties": {
    "trial_id": {"type": "string"}, "metric": {"type": "string"},
    "points": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
    "start": {"type": "integer"}, "offset": {"type": "integer"}}}
OPENAPI_SCHEMA: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "tune-core Client API", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/api/status": {"get": {"operationId": "status", "summary": "the run's state", "responses": _responses(
            {"type": "object", "properties": {"finished": {"type": "boolean"}, "trials": {"type": "integer"},
                                              "experiment_dirs": {"type": "array"}, "by_status": {"type": "object"}}},
            "503")}},
        "/api/trials": {
            "get": {"operationId": "list_trials", "summary": "every trial",
                    "responses": _responses({"type": "array", "items": _TRIAL}, "503")},
            "post": {"operationId": "add_trials", "summary": "add the trials of an experiment spec",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _ADD}}},
                     "responses": _responses({"type": "array", "items": _TRIAL},
                                             "400", "409", "413", "415", "422", "503")}},
        "/api/trials/{trial_id}": {"get": {
            "operationId": "get_trial", "summary": "one trial", "parameters": _TRIAL_ID,
            "responses": _responses(_TRIAL, "404", "503")}},
        "/api/trials/{trial_id}/stop": {"post": {
            "operationId": "stop_trial", "summary": "stop a trial", "parameters": _TRIAL_ID,
            "responses": _responses(_TRIAL, "404", "409", "503")}},
        "/api/trials/{trial_id}/results": {"get": {
            "operationId": "trial_results",
            "summary": "one metric's history ([training_iteration, value] pairs) from the trial's result.json, "
                       "read from byte 'offset' on (the answer's 'offset' is where to ask next; when 'start' "
                       "differs from the offset asked, the file was rewritten and the points start over)",
            "parameters": _RESULTS_PARAMS, "responses": _responses(_RESULTS, "404", "422", "503")}},
    },
}


class ApiError(Exception):
    """An HTTP error with its JSON message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class _BearerAuth:
    """Refuses every ``/api`` request without the run's token (compared in constant time)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self._expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api"):
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                message = "missing or wrong bearer token (Authorization: Bearer <token>; the token is in " \
                          f"the experiment directory's {TOKEN_FILE})"
                await _error(401, message, {"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Listing:
    """The trial listing, cached ``ttl_s`` seconds: pollers share one runner round-trip."""

    def __init__(self, control: ExperimentControl, ttl_s: float) -> None:
        self._control, self._ttl_s = control, ttl_s
        self._lock = threading.Lock()
        self._at, self._trials = -1.0, []  # type: float, list[dict[str, Any]]

    def get(self, fresh: bool = False) -> list[dict[str, Any]]:
        with self._lock:
            if fresh or time.monotonic() - self._at > self._ttl_s:
                self._trials, self._at = self._control.trials(), time.monotonic()
            return self._trials

    def invalidate(self) -> None:
        with self._lock:
            self._at = -1.0


async def _json_body(request: Request, limit: int) -> Any:
    """The request's JSON body: 415 unless JSON, 413 past ``limit`` bytes (declared or read), 400 if malformed."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, f"the body must be JSON (Content-Type: application/json), got {media or 'none'!r}")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ApiError(413, f"the body is over the limit of {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"the body is over the limit of {limit} bytes")
    try:
        return json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None


def _check_add(body: Any) -> tuple[str, dict[str, Any]]:
    """``{"name": str, "spec": {"run": str, ...}}`` or a 422 naming what is wrong."""
    if not isinstance(body, dict):
        raise ApiError(422, f"the body must be an object {{\"name\": ..., \"spec\": ...}}, got {type(body).__name__}")
    extra = sorted(set(body) - {"name", "spec"})
    if extra:
        raise ApiError(422, f"unknown key(s) {extra}: the body has only 'name' and 'spec'")
    name, spec = body.get("name"), body.get("spec")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ApiError(422, f"'name' must be 1-100 letters, digits or _.=,- (starting with a letter or digit), "
                            f"got {name!r}")
    if not isinstance(spec, dict):
        raise ApiError(422, f"'spec' must be an object with at least 'run', got {type(spec).__name__}")
    if not isinstance(spec.get("run"), str):
        raise ApiError(422, "'spec.run' must be a string: a registered trainable's name or 'module:function' "
                            f"(no code is accepted), got {spec.get('run')!r}")
    for key in REFUSED_SPEC_KEYS:
        if key in spec:
            raise ApiError(422, f"'spec.{key}' cannot be set through the Client API: trials go to the run's "
                                "results directory")
    return name, spec


def _metric_value(result: Any, metric: str) -> float | None:
    """``result[metric]`` (or the '/'-path into nested dicts) when it is a finite number, else ``None``."""
    value = result.get(metric) if isinstance(result, dict) else None
    if value is None and "/" in metric:
        value = result
        for part in metric.split("/"):
            value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (
            float("inf"), float("-inf")):
        return None
    return float(value)


def read_metric(path: Path, metric: str, offset: int = 0,
                limit: int = MAX_RESULTS_READ) -> tuple[list[list[float]], int, int]:
    """``(points, start, next_offset)``: ``[training_iteration, value]`` of each complete line of the
    result file from byte ``offset`` on (at most ``limit`` bytes). A line still being written (no newline
    yet) is left for the next call; an offset past the end (the file was rewritten) starts over at 0."""
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            start = offset if offset <= size else 0
            stream.seek(start)
            chunk = stream.read(limit)
    except FileNotFoundError:
        return [], 0, 0
    end = chunk.rfind(b"\n") + 1
    points: list[list[float]] = []
    for number, line in enumerate(chunk[:end].splitlines()):
        try:
            result = json.loads(line)
        except ValueError:
            continue  # A torn line (a crash mid-write): the rest of the file is still read.
        value = _metric_value(result, metric)
        if value is not None:
            step = _metric_value(result, "training_iteration")
            points.append([step if step is not None else float(number), value])
    return points, start, start + end


def build_app(control: ExperimentControl, token: str, *, max_body: int = MAX_BODY,
              cache_s: float = 0.05) -> ASGIApp:
    """The Client API as an ASGI app (auth, routes, JSON errors)."""
    listing = _Listing(control, cache_s)

    async def call(function: Callable[..., Any], *args: Any) -> Any:
        try:
            return await run_in_threadpool(function, *args)
        except TuneError as exc:
            message = str(exc)
            if control.finished:
                raise ApiError(409, message) from None
            if "did not answer within" in message:
                raise ApiError(503, message) from None
            raise ApiError(422, message) from None

    async def find(trial_id: str) -> dict[str, Any]:
        for fresh in (False, True):  # A trial added a moment ago may not be in the cached listing yet.
            for trial in await call(listing.get, fresh):
                if trial["trial_id"] == trial_id:
                    return trial
        raise ApiError(404, f"no trial with id {trial_id!r} in this experiment")

    async def status(request: Request) -> JSONResponse:
        return JSONResponse(await call(control.status))

    async def list_trials(request: Request) -> JSONResponse:
        return JSONResponse(await call(listing.get))

    async def get_trial(request: Request) -> JSONResponse:
        return JSONResponse(await find(request.path_params["trial_id"]))

    async def add_trials(request: Request) -> JSONResponse:
        name, spec = _check_add(await _json_body(request, max_body))
        added = await call(control.add_trials, name, spec)
        listing.invalidate()
        return JSONResponse(added)

    async def stop_trial(request: Request) -> JSONResponse:
        trial_id = request.path_params["trial_id"]
        await find(trial_id)
        stopped = await call(control.stop_trial, trial_id)
        listing.invalidate()
        return JSONResponse(stopped)

    async def trial_results(request: Request) -> JSONResponse:
        trial_id = request.path_params["trial_id"]
        metric = request.query_params.get("metric", "")
        if not METRIC_RE.match(metric):
            raise ApiError(422, f"'metric' must be 1-200 letters, digits or _.:/- (a result key, or a '/'-path "
                                f"into nested results), got {metric!r}")
        raw_offset = request.query_params.get("offset", "0")
        if not raw_offset.isascii() or not raw_offset.isdigit() or len(raw_offset) > 18:
            raise ApiError(422, f"'offset' must be a byte offset (an integer >= 0), got {raw_offset!r}")
        trial = await find(trial_id)
        if not trial.get("logdir"):
            return JSONResponse({"trial_id": trial_id, "metric": metric, "points": [], "start": 0, "offset": 0})
        points, start, offset = await run_in_threadpool(read_metric, Path(trial["logdir"], RESULT_FILE),
                                                        metric, int(raw_offset))
        return JSONResponse({"trial_id": trial_id, "metric": metric, "points": points, "start": start,
                             "offset": offset})

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(OPENAPI_SCHEMA)

    async def dashboard(request: Request) -> Response:
        name, media_type = DASHBOARD_FILES[request.url.path]
        content = await run_in_threadpool((DASHBOARD_DIR / name).read_bytes)
        return Response(content, media_type=media_type, headers=DASHBOARD_HEADERS)

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return _error(exc.status, exc.message)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        message = {404: f"no such path {request.url.path!r}",
                   405: f"method {request.method} not allowed on {request.url.path!r}"}.get(exc.status_code, exc.detail)
        return _error(exc.status_code, message, exc.headers)

    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")

    app = Starlette(routes=[
        Route("/api/openapi.json", openapi, methods=["GET"]),
        Route("/api/status", status, methods=["GET"]),
        Route("/api/trials", list_trials, methods=["GET"]),
        Route("/api/trials", add_trials, methods=["POST"]),
        Route("/api/trials/{trial_id}", get_trial, methods=["GET"]),
        Route("/api/trials/{trial_id}/stop", stop_trial, methods=["POST"]),
        Route("/api/trials/{trial_id}/results", trial_results, methods=["GET"]),
        *(Route(path, dashboard, methods=["GET"]) for path in DASHBOARD_FILES),
    ], exception_handlers={ApiError: api_error, HTTPException: http_error, Exception: server_error})
    return _BearerAuth(app, token)


def _write_token_file(directory: str, address: str, token: str) -> Path:
    """``{"address", "token"}`` written atomically, readable by its owner only (0600 from creation)."""
    os.makedirs(directory, exist_ok=True)
    path = Path(directory, TOKEN_FILE)
    tmp = path.with_name(f"{TOKEN_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as stream:
            json.dump({"address": address, "token": token}, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


class TuneServer(Service):
    """The service ``server``: the Client API beside a run, until ``close()``.

    Args:
        control: the run's ``ExperimentControl``.
        port: the TCP port (0: any free one; the address is in the token file).
        host: where to listen; loopback by default. Anything else must be given explicitly (this
            argument, or ``$TUNE_SERVER_HOST``): the token is then all that guards the API.
        max_body: the largest request body accepted, in bytes.
    """

    def __init__(self, control: ExperimentControl, port: int = 4321, host: str | None = None,
                 max_body: int = MAX_BODY) -> None:
        host = host or os.environ.get("TUNE_SERVER_HOST") or "127.0.0.1"
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise TuneError(f"server port must be an integer in 0..65535, got {port!r}")
        self.token = secrets.token_urlsafe(32)
        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
        except OSError as exc:
            raise TuneError(f"the Client API server cannot listen on {host}:{port}: {exc}") from None
        self.host, self.port = host, sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.address = f"{shown}:{self.port}"
        config = uvicorn.Config(build_app(control, self.token, max_body=max_body), log_level="warning",
                                access_log=False, lifespan="off", server_header=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="tune-server", daemon=True)
        self._thread.start()
        self._sock = sock
        deadline = time.monotonic() + 10
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        if not self._server.started:
            self.close()
            raise TuneError(f"the Client API server did not start on {self.address}")
        self.token_file = _write_token_file(control.experiment_dirs[0], self.address, self.token) \
            if control.experiment_dirs else None
        where = f"; also in {self.token_file}" if self.token_file else ""
        print(f"tune-server: Client API at http://{self.address} (token {self.token}{where})", file=sys.stderr)
        print(f"tune-server: dashboard at {self.dashboard_url}", file=sys.stderr)

    @property
    def dashboard_url(self) -> str:
        """The dashboard with the token in the fragment: browsers never send it, servers never log it."""
        return f"http://{self.address}/#token={self.token}"

    def close(self) -> None:
        """Stop serving: uvicorn finishes the requests in flight, then its thread ends."""
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()
