"""VO publishing with DaCHS: instance, server, publish, user sync (``musedc vo``)."""

from __future__ import annotations

from qcservice.config import Settings


def demo_step(settings: Settings, port: int | None = None,
              viewer_url: str | None = None) -> str:
    """Init the DaCHS instance, publish the catalogue, serve it; return the TAP URL.

    ``viewer_url``: where the QA viewer runs, for the DataLink #auxiliary links."""
    from qcservice.db import make_engine
    from qcservice.vo.config import load_vo_config
    from qcservice.vo.instance import Instance
    from qcservice.vo.publish import proprietary_lines, publish, stage
    from qcservice.vo.server import serve

    inst = Instance(load_vo_config(settings, port=port, viewer_url=viewer_url))
    engine = make_engine(settings)
    try:
        inst.init(restage=lambda: stage(engine, inst))
        print(publish(engine, inst).describe())
        proprietary = proprietary_lines(inst)
        print(f"      proprietary products: {len(proprietary) or 'none'}")
        for line in proprietary:
            print(f"        {line}")
    finally:
        engine.dispose()
    serve(inst)
    return inst.vo.tap_url


__all__ = ["demo_step"]
