"""Files sent by the front server after the viewer has decided access (X-Accel-Redirect).

With ``MUSEDC_FILES_BY_PROXY`` set (docker/compose.yaml sets it), ``/files/...`` answers
with the file's path in ``X-Accel-Redirect`` and no body; the proxy (docker/Caddyfile,
``handle_response``) serves that path from disk with Range support, at disk speed instead
of through a Python worker. The access rule stays the viewer's (``qc.may_see``); the
header comes from the application only, never from a client.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

ACCEL_HEADER = "X-Accel-Redirect"


def by_proxy(path: str, filename: str, mime: str) -> Response:
    """The empty answer that has the proxy send ``path`` as ``filename``."""
    return Response(status=200, headers={
        ACCEL_HEADER: quote(path), "Content-Type": mime,
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})
