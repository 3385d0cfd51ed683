"""The acceptance test: ESO's own MUSE pipeline reduces the simulated raw biases.

``esorex muse_bias`` (Debian esorex + cpl-plugin-muse 2.8.7) runs on the good raw
biases of a simulated tiny night, one IFU at a time (``--nifu``). The read noise it
measures (``QC BIAS MASTERn RON``, in electrons: the recipe multiplies its ADU noise
by ``ESO DET OUTn GAIN``, which it reads in e-/ADU) must match the injected read noise
within 5 %, for a normal IFU and for the noisy-IFU fault (x 3). The master it writes
also shows how the pipeline marks the IFU of a per-IFU product, and the simulator's
MASTER_BIAS must carry the same marks.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from astropy.io import fits

from qcservice.simulate import simulate_night

IFU_MARKS = ("EXTNAME", "ESO DET CHIP NAME", "ESO DET CHIP ID", "ESO DET CHIP INDEX")


def run_muse_bias(esorex: str, workdir: Path, night_dir: Path, biases: list[str],
                  ifu: int) -> Path:
    """Run the real recipe on one IFU; return the MASTER_BIAS it wrote."""
    out = workdir / f"ifu{ifu:02d}"
    out.mkdir()
    sof = out / "bias.sof"
    sof.write_text("".join(f"{night_dir / rel} BIAS\n" for rel in biases))
    result = subprocess.run(
        [esorex, f"--output-dir={out}", f"--log-dir={out}", "muse_bias", f"--nifu={ifu}",
         str(sof)], cwd=out, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    product = out / f"MASTER_BIAS-{ifu:02d}.fits"
    assert product.is_file(), result.stdout[-3000:]
    return product


def test_muse_bias_measures_the_injected_read_noise(esorex: str, tmp_path: Path) -> None:
    truth = simulate_night(tmp_path / "sim", "2015-01-20", "tiny", "WFM-NOAO-N", seed=21)
    biases = sorted(p for p, r in truth.files.items()
                    if r.kind == "raw" and r.dpr_type == "BIAS" and r.broken is None)
    assert len(biases) == 5
    noisy = truth.to_dict()["faults"][0]
    assert noisy["kind"] == "noisy_ifu"
    normal = 1 if noisy["ifu"] != 1 else 2
    for ifu, factor in ((normal, 1.0), (noisy["ifu"], 3.0)):
        product = run_muse_bias(esorex, tmp_path, truth.directory, biases, ifu)
        pipeline = fits.getheader(product)
        ours = fits.getheader(truth.directory / "products" / f"MASTER_BIAS-{ifu:02d}.fits")
        quadrants = truth.detector["ifus"][str(ifu)]["quadrants"]
        for q in (1, 2, 3, 4):
            injected_e = factor * quadrants[str(q)]["ron_e"]
            measured_e = pipeline[f"ESO QC BIAS MASTER{q} RON"]
            assert measured_e == pytest.approx(injected_e, rel=0.05), (ifu, q)
            assert ours[f"ESO QC BIAS MASTER{q} RON"] == pytest.approx(measured_e, rel=0.03)
            assert ours[f"ESO QC BIAS LEVEL{q} MEAN"] == pytest.approx(
                pipeline[f"ESO QC BIAS LEVEL{q} MEAN"], abs=0.5)
        # How the pipeline marks the IFU of a per-IFU product, and the simulator alike.
        assert pipeline["EXTNAME"] == f"CHAN{ifu:02d}"
        assert pipeline["ESO DET CHIP NAME"] == f"CHAN{ifu:02d}"
        assert pipeline["PIPEFILE"] == f"MASTER_BIAS-{ifu:02d}.fits"
        for key in IFU_MARKS:
            assert ours[key] == pipeline[key], key
        assert pipeline["ESO PRO CATG"] == ours["ESO PRO CATG"] == "MASTER_BIAS"
        assert pipeline["ESO PRO REC1 PIPE ID"] == ours["ESO PRO REC1 PIPE ID"]
        with fits.open(product) as p, fits.open(truth.directory / "products" /
                                                f"MASTER_BIAS-{ifu:02d}.fits") as o:
            assert [h.name for h in p] == [h.name for h in o]
            assert p["DATA"].data.shape == o["DATA"].data.shape
