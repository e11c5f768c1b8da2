"""tune-server: the Client API of a running tune-core experiment.

``run_experiments(..., with_server=True)`` (or ``tune-core run --server``) serves a token-protected
JSON REST API on 127.0.0.1; ``TuneClient`` (and ``tune-core client``) lists, adds and stops trials
through it. Only the client is imported here: the server's stack (Starlette, uvicorn) loads when a
run starts it.
"""

from tune_server.client import TuneClient

__all__ = ["TuneClient"]
