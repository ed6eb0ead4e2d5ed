"""Running the web app: in-process for tests and the sandbox, under gunicorn when deployed."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from werkzeug.serving import BaseWSGIServer, make_server

from bot.app import create_app
from bot.deps import Deps
from bot.metrics import prepare_multiprocess_dir
from bot.settings import Settings
from bot.web import create_web_app


def build_web(settings: Settings, deps: Deps) -> Flask:
    return create_web_app(settings, deps, create_app(settings, deps))


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn with its configuration given in code, not read from the command line."""

    def __init__(self, wsgi: Flask, options: dict[str, Any]) -> None:
        self._wsgi = wsgi
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._wsgi


# One line a request with its duration in microseconds (benchmarks/slack_load.py reads it).
ACCESS_LOG_FORMAT = '%(t)s %(p)s "%(r)s" %(s)s %(B)s %(D)sus'


def serve_with_gunicorn(
    settings: Settings,
    deps: Deps,
    *,
    workers: int = 1,
    threads: int = 8,
    access_log: str | None = None,
) -> None:
    """Serve on HOST:PORT with gunicorn's threaded workers (Bolt acks, then works in threads).

    Each worker process counts its own metrics; `/metrics` covers them all only in
    prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, see bot/metrics.py).
    """
    prepare_multiprocess_dir(workers)
    run_gunicorn(
        build_web(settings, deps),
        bind=f"{settings.HOST}:{settings.PORT}",
        workers=workers,
        threads=threads,
        log_level=settings.LOG_LEVEL,
        access_log=access_log,
    )


def run_gunicorn(
    wsgi: Flask,
    *,
    bind: str,
    workers: int,
    threads: int,
    log_level: str,
    access_log: str | None = None,
) -> None:
    """gunicorn as deployed: gthread workers; `access_log` (a path) logs each request's time."""
    _Gunicorn(
        wsgi,
        {
            "bind": bind,
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "timeout": 30,
            "accesslog": access_log,
            "access_log_format": ACCESS_LOG_FORMAT,
            "loglevel": log_level.lower(),
        },
    ).run()


class BackgroundServer:
    """The web app on a werkzeug server in a thread (tests and the sandbox)."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
