"""The cube page on real data: QC of mpdaf's minicube (a real ESO cube), its metrics in
the catalogue, the page's plots and names read back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import text
from viewer_support import login

from qcservice.qc import plots
from qcservice.qc.cubeqc import cube_qc


@pytest.fixture(scope="module")
def real_qc(minicube: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("minicube-qc")
    return cube_qc(str(minicube), str(out), 0.8), out


def _store(engine, file_id: int, metrics) -> None:
    with engine.begin() as conn:
        for m in metrics:
            conn.execute(text("INSERT INTO qc.metrics (file_id, ifu, subunit, name, value, "
                              "unit, source) VALUES (:f, :i, :s, :n, :v, :u, 'computed')"),
                         {"f": file_id, "i": m.ifu, "s": m.subunit, "n": m.name,
                          "v": m.value, "u": m.unit})


def _page_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="page-data">(.*?)</script>',
                      page, re.S)
    return json.loads(found.group(1))


def test_sky_residual_png_and_page_plot_the_same_values(app, engine, catalogue, real_qc):
    result, out = real_qc
    assert (out / "sky_residual.png").is_file()
    ax = plots.sky_residual_figure(result.metrics).axes[0]
    png_x, png_y = list(ax.lines[0].get_xdata()), list(ax.lines[0].get_ydata())
    assert len(png_y) >= 5 and min(png_y) > 0   # an RMS: one sign, as on the page
    _store(engine, catalogue["cube"], result.metrics)
    client = app.test_client()
    login(client, "alice")
    page = client.get(f"/cube/{catalogue['cube']}?tab=sky").get_data(as_text=True)
    curve = _page_data(page)["curves"]["sky.residual_spectrum"]
    assert curve["x"] == pytest.approx(png_x) and curve["y"] == pytest.approx(png_y)
    assert 'data-ylabel="RMS line amplitude left [flux]"' in page
