"""Serving the viewer: in the foreground (``musedc viewer serve``) or in a background
thread (tests, benchmarks, ``musedc demo``), with werkzeug's threaded server."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from qcservice.config import Settings
from qcservice.users import ensure_user
from qcservice.viewer import create_app

DEMO_USER = "demo"


@dataclass
class RunningViewer:
    """A viewer served from a background thread; ``stop()`` shuts it down."""

    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


def start_viewer(settings: Settings, host: str = "127.0.0.1", port: int = 8080,
                 engine: Engine | None = None, app: Flask | None = None) -> RunningViewer:
    """Serve the viewer from a daemon thread and return at once (port 0: any free port)."""
    app = app or create_app(settings, engine)
    server = make_server(host, port, app, threaded=True)
    _default_public_url(app, server)
    thread = threading.Thread(target=server.serve_forever, name="musedc-viewer", daemon=True)
    thread.start()
    return RunningViewer(server, thread)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the viewer in the foreground until interrupted (Ctrl-C)."""
    app = create_app(settings)
    server = make_server(host, port, app, threaded=True)
    _default_public_url(app, server)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _default_public_url(app: Flask, server: BaseWSGIServer) -> None:
    """Without MUSEDC_VIEWER_URL, links written for later use (download scripts) point to
    the address this server was told to listen on, never to a request's Host header."""
    if not app.config.get("PUBLIC_URL"):
        host, port = server.server_address[:2]
        app.config["PUBLIC_URL"] = f"http://{host}:{port}/"


@dataclass
class DemoViewer:
    """The demo's viewer: where it is, and who may log in."""

    running: RunningViewer
    username: str
    password: str

    @property
    def url(self) -> str:
        return self.running.url

    def stop(self) -> None:
        self.running.stop()


def demo_password(settings: Settings) -> str:
    """The demo login's password: generated once, kept in $MUSEDC_HOME/viewer-demo-password."""
    path = settings.paths.viewer_demo_password
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    return password


def start_demo_viewer(settings: Settings, host: str = "127.0.0.1",
                      port: int = 8080) -> DemoViewer:
    """Serve the viewer in the background for the demo, with a QC-scientist login 'demo'
    in the GTO and consortium groups (it sees and may validate the demo's data)."""
    app = create_app(settings)
    password = demo_password(settings)
    with app.extensions["musedc_engine"].begin() as conn:
        ensure_user(conn, DEMO_USER, "qc_scientist", password, ("GTO", "consortium"))
    return DemoViewer(start_viewer(settings, host, port, app=app), DEMO_USER, password)
