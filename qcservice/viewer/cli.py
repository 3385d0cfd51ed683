"""``musedc viewer serve``: the QA viewer over HTTP."""

from __future__ import annotations

import click


@click.group()
def viewer() -> None:
    """The QA viewer (web pages for QC scientists and consortium members)."""


@viewer.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.pass_obj
def serve_command(obj, host: str, port: int) -> None:
    """Serve the viewer until Ctrl-C (log in with a user of 'musedc users add')."""
    from qcservice.viewer.server import serve

    click.echo(f"QA viewer on http://{host}:{port}/ (Ctrl-C to stop)")
    serve(obj.settings, host, port)
