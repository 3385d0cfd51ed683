"""One science OB end to end: raw OBJECT frames, then its cube, image and spectra,
and the OB's entry in truth.json (model parameters, sources, file names).
"""

from __future__ import annotations

import numpy as np

from qcservice import __version__
from qcservice.simulate import headers, spectra
from qcservice.simulate.cards import CardSpec
from qcservice.simulate.context import NightContext, write_raw_frames
from qcservice.simulate.cube import MOFFAT_BETA, PSF_ALPHA, REF_WAVE_A, CubeModel
from qcservice.simulate.faults import BAD_SKY_FACTOR
from qcservice.simulate.products import PRODUCT_DIR, product_name, write_spectrum
from qcservice.simulate.scene import aperture_radius, build_model
from qcservice.simulate.schedule import ScienceOB
from qcservice.simulate.science import (
    BUNIT,
    CubeSums,
    flagged_voxels,
    measure_stars,
    qc_image,
    qc_scipost,
    science_recipes,
    science_stream,
    source_coordinates,
    write_cube,
    write_image_fov,
)

FWHM_SAMPLES_A = (4750.0, 5000.0, 6000.0, 7000.0, 8000.0, 9000.0, 9350.0)


def _replace(cards: list[CardSpec], updates: dict[str, object]) -> list[CardSpec]:
    return [(c[0], updates[c[0]], *c[2:]) if c[0] in updates else c for c in cards]


def _spectrum_extra(src_name: str, cube_name: str, radius_arcsec: float) -> list[CardSpec]:
    wave = spectra.cube_wavelengths()
    return [("VOCLASS", "SPECTRUM V2.0", "VO Data Model"), ("VOPUB", "ESO/SAF", "VO Publishing"),
            ("TITLE", src_name, "Source name"), ("NELEM", wave.size, "Length of the arrays"),
            ("TUCD1", "spect.dispersion;em.wl"), ("TUCD2", "phot.flux.density;em.wl"),
            ("TUCD3", "stat.error;phot.flux.density;em.wl"),
            ("APERTURE", round(radius_arcsec / 3600.0, 8), "[deg] Aperture radius"),
            ("ORIGFILE", cube_name, "Cube the spectrum was extracted from")]


def _spectrum_primary(base: list[CardSpec], name: str, src_name: str, coords: tuple,
                      cube_name: str) -> list[CardSpec]:
    cards = _replace(base, {"OBJECT": src_name, "RA": coords[0], "DEC": coords[1],
                            "PIPEFILE": name})
    cards = [c for c in cards if not c[0].startswith(("ESO PRO", "ESO QC"))]
    wave = spectra.cube_wavelengths()
    recipe = headers.Recipe("musedc_extract_spectrum", [(cube_name, "DATACUBE_FINAL")],
                            pipe_id=f"musedc/{__version__}", drs_id=f"musedc/{__version__}")
    return cards + headers.pro_cards("SPECTRUM_1D", [recipe], science=True) + [
        ("PRODCATG", "SCIENCE.SPECTRUM", "Data product category"),
        ("SPECSYS", "TOPOCENT", "Reference frame for spectral coordinates"),
        ("WAVELMIN", float(wave[0]) / 10.0, "[nm] Minimum wavelength"),
        ("WAVELMAX", float(wave[-1]) / 10.0, "[nm] Maximum wavelength"),
        ("SPEC_BIN", spectra.CUBE_DWAVE_A / 10.0, "[nm] Wavelength bin size"),
        ("SPEC_RES", 3000.0, "Spectral resolving power at 7000 A"),
        ("FLUXCAL", "ABSOLUTE", "Type of flux calibration"),
        ("PROCSOFT", f"musedc/{__version__}", "Reduction software")]


def _model_truth(model: CubeModel, bad_sky: bool) -> dict:
    fwhm = {f"{w:.0f}": round(float(model.fwhm_arcsec(w)), 4) for w in FWHM_SAMPLES_A}
    factor = BAD_SKY_FACTOR if bad_sky else 1.0
    return {
        "shape": [spectra.CUBE_NWAVE, model.ny, model.nx],
        "pixscale_arcsec": model.pixscale_arcsec,
        "wave": {"first_a": spectra.CUBE_WAVE0_A, "step_a": spectra.CUBE_DWAVE_A,
                 "n": spectra.CUBE_NWAVE, "ctype": "AWAV"},
        "psf": {"profile": "moffat", "beta": MOFFAT_BETA,
                "law": "fwhm(lambda) = fwhm_7000_arcsec * (lambda / 7000 A) ** alpha",
                "alpha": PSF_ALPHA, "fwhm_7000_arcsec": model.fwhm_7000_arcsec,
                "samples_arcsec": fwhm},
        "drift": {"law": "x(lambda) = x + dx_per_1000a * (lambda - 7000 A) / 1000 A "
                         "(same for y)", "reference_wavelength_a": REF_WAVE_A,
                  "dx_per_1000a_spaxel": model.drift_per_1000a[0],
                  "dy_per_1000a_spaxel": model.drift_per_1000a[1]},
        "sky_residual": {"amplitude": round(model.sky_amplitude * factor, 4),
                         "nominal_amplitude": model.sky_amplitude, "bad": bad_sky,
                         "law": "amplitude * sum(weight * gauss(lambda - line, sigma_a)) "
                                "* row_multipliers[y]",
                         "sigma_a": spectra.LSF_SIGMA_A,
                         "lines_a": [w for w, _ in spectra.SKY_LINES],
                         "weights": [v for _, v in spectra.SKY_LINES],
                         "row_multipliers": [float(v) for v in model.sky_rows]},
        "noise": {"sigma0": model.sigma0, "poisson_factor": model.poisson,
                  "variance_law": "sigma0**2 * (1 + 25 * sky_lines(lambda)) "
                                  "+ poisson_factor * max(model, 0)"},
        "nad_notch_a": list(spectra.NAD_NOTCH_A) if model.notch else None,
    }


def _write_spectra(ctx: NightContext, ob: ScienceOB, model: CubeModel, sums: CubeSums,
                   base: list[CardSpec], cube_name: str, first: int, total: int) -> list[dict]:
    """One SPECTRUM_1D per source, numbered from ``first``; their truth records."""
    wave = spectra.cube_wavelengths()
    radius_arcsec = aperture_radius(model) * model.pixscale_arcsec
    records = []
    for i, (src, radec) in enumerate(zip(model.sources, source_coordinates(model, ob),
                                         strict=True)):
        name = product_name("SPECTRUM_1D", k=first + i if total > 1 else None)
        src_name = f"{ob.ob.targ_name}-S{src.id:02d}"
        write_spectrum(ctx.night_dir / PRODUCT_DIR / name,
                       _spectrum_primary(base, name, src_name, radec, cube_name), wave,
                       sums.flux[i].astype(np.float32), np.sqrt(sums.var[i]).astype(np.float32),
                       _spectrum_extra(src_name, cube_name, radius_arcsec))
        ctx.record_product(f"{PRODUCT_DIR}/{name}", "SPECTRUM_1D", ob.ins_mode)
        records.append({**src.to_dict(), "name": src_name, "ra": radec[0], "dec": radec[1],
                        "spectrum_file": f"{PRODUCT_DIR}/{name}"})
    return records


def _cube_truth(ob: ScienceOB, model: CubeModel, files: tuple[str, str], flags: np.ndarray,
                sources: list[dict]) -> dict:
    return {
        "k": ob.k, "file": f"{PRODUCT_DIR}/{files[0]}", "image_fov": f"{PRODUCT_DIR}/{files[1]}",
        "ins_mode": ob.ins_mode, "target": ob.ob.targ_name, "ob_id": ob.ob.ob_id,
        "prog_id": ob.ob.prog_id, "raw_files": [f"raw/{e.name}" for e in ob.exposures],
        "wcs": {"crval1": ob.ob.ra_deg, "crval2": ob.ob.dec_deg,
                "crpix1": (model.nx + 1) / 2.0, "crpix2": (model.ny + 1) / 2.0,
                "posang_deg": ob.ob.posang_deg},
        **_model_truth(model, ob.bad_sky), "bunit": BUNIT,
        "spectrum_aperture_radius_spaxel": aperture_radius(model),
        "flagged_voxels": flags.tolist(), "sources": sources}


def run_science_ob(ctx: NightContext, ob: ScienceOB, first_spectrum: int,
                   n_spectra_total: int) -> int:
    """Write the OB's raws and products; return the index of the next spectrum."""
    write_raw_frames(ctx, ob.exposures)
    model = build_model(ob, ctx.plan.scale, science_stream(ctx, ob, "scene"))
    flags = flagged_voxels(model, science_stream(ctx, ob, "flags"))
    k = ob.k if len(ctx.plan.science) > 1 else None
    cube_name, image_name = product_name("DATACUBE_FINAL", k=k), product_name("IMAGE_FOV", k=k)
    pro = headers.pro_cards("DATACUBE_FINAL", science_recipes(ctx, ob), science=True,
                            datancom=len(ob.exposures))
    base = headers.product_primary_cards(ob.exposures[0], ctx.plan.night,
                                         ctx.created(20 + ob.k), cube_name,
                                         pro + qc_scipost(measure_stars(
                                             qc_image(ctx, ob, model, flags), model)))
    products = ctx.night_dir / PRODUCT_DIR
    sums = write_cube(ctx, ob, model, products / cube_name, base, flags, aperture_radius(model))
    ctx.record_product(f"{PRODUCT_DIR}/{cube_name}", "DATACUBE_FINAL", ob.ins_mode)
    image_primary = _replace(base, {"PIPEFILE": image_name, "ESO PRO CATG": "IMAGE_FOV"})
    write_image_fov(products / image_name, image_primary, model, ob, sums.image())
    ctx.record_product(f"{PRODUCT_DIR}/{image_name}", "IMAGE_FOV", ob.ins_mode)
    sources = _write_spectra(ctx, ob, model, sums, base, cube_name, first_spectrum,
                             n_spectra_total)
    ctx.truth.cubes.append(_cube_truth(ob, model, (cube_name, image_name), flags, sources))
    return first_spectrum + len(sources)
