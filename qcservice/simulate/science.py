"""Science products of one OB: DATACUBE_FINAL, IMAGE_FOV and a SPECTRUM_1D per source.

The cube (primary header + DATA, STAT, DQ like a real MUSE DATACUBE_FINAL) is written
in blocks of wavelength planes straight to its file offsets, so a full-size cube
(~320 x 320 x 3681) never sits in memory. The same pass sums the white-light image
(IMAGE_FOV: mean flux density over all finite planes) and each source's spectrum
(sum of the finite DATA and STAT voxels in a circular aperture; ERR = sqrt of the
STAT sum; planes entirely NaN in the aperture, as in the NaD notch of AO modes,
give NaN).

SPECTRUM_1D is this data centre's own product (the pipeline makes none): an ESO
science-data-product style binary table ``SPECTRUM`` with one row of arrays WAVE
(Angstrom), FLUX and ERR (10**(-20) erg/s/cm**2/Angstrom), PRODCATG SCIENCE.SPECTRUM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.wcs import WCS

from qcservice.simulate import headers, spectra
from qcservice.simulate.cards import CardSpec, to_header
from qcservice.simulate.context import NightContext
from qcservice.simulate.cube import CubeModel, resampled_noise
from qcservice.simulate.detector import normal_deviates
from qcservice.simulate.faults import BAD_SKY_FACTOR
from qcservice.simulate.fitswrite import ImageSpec, PlannedFits, write_images
from qcservice.simulate.products import data_cards, dq_cards, product_name, stat_cards
from qcservice.simulate.schedule import ScienceOB
from qcservice.simulate.seeding import bitgen, rng
from qcservice.vocabulary import IFUS

BUNIT = "10**(-20)*erg/s/cm**2/Angstrom"
FLAGGED_DQ = 1  # a bad voxel (DATA and STAT are NaN, as the pipeline leaves them)
NOTCH_DQ = 2  # NaD notch filter of the AO modes (DATA and STAT are NaN)


def wcs_cards(model: CubeModel, ob: ScienceOB, cube: bool = True) -> list[CardSpec]:
    """Celestial TAN WCS with a CD matrix (rotated by the derotator angle) [+ AWAV axis]."""
    scale = model.pixscale_arcsec / 3600.0
    pa = math.radians(ob.ob.posang_deg)
    cards: list[CardSpec] = [
        ("WCSAXES", 3 if cube else 2, "Number of coordinate axes"),
        ("CRPIX1", (model.nx + 1) / 2.0, "Pixel coordinate of reference point"),
        ("CRPIX2", (model.ny + 1) / 2.0, "Pixel coordinate of reference point"),
        ("CUNIT1", "deg", "Units of coordinate increment and value"),
        ("CUNIT2", "deg", "Units of coordinate increment and value"),
        ("CTYPE1", "RA---TAN", "Right ascension, gnomonic projection"),
        ("CTYPE2", "DEC--TAN", "Declination, gnomonic projection"),
        ("CRVAL1", ob.ob.ra_deg, "[deg] Coordinate value at reference point"),
        ("CRVAL2", ob.ob.dec_deg, "[deg] Coordinate value at reference point"),
        ("RADESYS", "ICRS", "Equatorial coordinate system"),
        ("CD1_1", -scale * math.cos(pa)), ("CD1_2", scale * math.sin(pa)),
        ("CD2_1", scale * math.sin(pa)), ("CD2_2", scale * math.cos(pa))]
    if cube:
        cards += [("CTYPE3", "AWAV"), ("CUNIT3", "Angstrom"),
                  ("CRVAL3", spectra.CUBE_WAVE0_A), ("CRPIX3", 1.0),
                  ("CD3_3", spectra.CUBE_DWAVE_A), ("CD1_3", 0.0), ("CD2_3", 0.0),
                  ("CD3_1", 0.0), ("CD3_2", 0.0)]
    return cards


QC_LAMBDA_A = 7000.0       # the plane the pipeline measures its QC SCIPOST sources on
QC_HALF_WIDTH_A = 50.0


def half_max_width(profile: np.ndarray, peak: int) -> float:
    """Full width at half maximum (pixels) of a background-free 1D profile around index
    ``peak``, the half-maximum crossings interpolated linearly (as cpl_image_get_fwhm)."""
    half = profile[peak] / 2.0
    edges = []
    for step in (-1, 1):
        i = peak
        while 0 <= i + step < profile.size and profile[i + step] > half:
            i += step
        j = i + step
        if not 0 <= j < profile.size:
            return float("nan")
        edges.append(i + step * (profile[i] - half) / (profile[i] - profile[j]))
    return float(edges[1] - edges[0])


def measure_stars(image: np.ndarray, model: CubeModel) -> list[tuple[float, float, float, float]]:
    """(x, y, fwhm_x, fwhm_y) of each star, FITS pixels and arcsec, measured on ``image``
    as the pipeline does: a flux-weighted centroid in a box around the detection, and the
    half-maximum widths of the row and column through the brightest pixel. The noise of
    the image gives them the scatter of real measurements."""
    background = float(np.nanmedian(image))
    box = max(2, round(model.fwhm_7000_arcsec / model.pixscale_arcsec))
    out = []
    for src in (s for s in model.sources if s.kind == "star"):
        x0, y0 = round(src.x), round(src.y)
        ys = slice(max(0, y0 - box), min(model.ny, y0 + box + 1))
        xs = slice(max(0, x0 - box), min(model.nx, x0 + box + 1))
        cut = np.nan_to_num(image[ys, xs] - background)
        if cut.size == 0 or cut.max() <= 0:
            continue
        gy, gx = np.mgrid[ys, xs]
        weight = np.clip(cut, 0, None)
        cx, cy = (float((g * weight).sum() / weight.sum()) for g in (gx, gy))
        py, px = np.unravel_index(int(np.argmax(cut)), cut.shape)
        py, px = py + ys.start, px + xs.start
        clean = np.nan_to_num(image - background)
        fx = half_max_width(clean[py, :], px) * model.pixscale_arcsec
        fy = half_max_width(clean[:, px], py) * model.pixscale_arcsec
        out.append((cx + 1.0, cy + 1.0, fx, fy))
    return out


def qc_scipost(stars: list[tuple[float, float, float, float]]) -> list[CardSpec]:
    """``QC SCIPOST`` star positions (FITS pixels) and FWHMs at 7000 A, as measured."""
    cards: list[CardSpec] = [("ESO QC SCIPOST NDET", len(stars), "Detected sources"),
                             ("ESO QC SCIPOST LAMBDA", QC_LAMBDA_A, "[Angstrom] Detection plane")]
    for i, (x, y, fx, fy) in enumerate(stars, start=1):
        cards += [(f"ESO QC SCIPOST POS{i} X", round(x, 4), "[pix] Position of source k in x"),
                  (f"ESO QC SCIPOST POS{i} Y", round(y, 4), "[pix] Position of source k in y")]
        # a width whose half-maximum crossing falls off the field is not measured: no card
        cards += [(f"ESO QC SCIPOST FWHM{i} {axis}", round(f, 4),
                   f"[arcsec] FWHM of source k in {axis.lower()}")
                  for axis, f in (("X", fx), ("Y", fy)) if np.isfinite(f)]
    widths = np.array([(fx + fy) / 2 for _, _, fx, fy in stars])
    widths = widths[np.isfinite(widths)]
    enough = widths.size >= 3
    median = float(np.median(widths)) if enough else 0.0
    mad = float(np.median(np.abs(widths - median))) if enough else 0.0
    return [*cards, ("ESO QC SCIPOST FWHM NVALID", int(widths.size), "Sources with valid FWHM"),
            ("ESO QC SCIPOST FWHM MEDIAN", round(median, 4), "[arcsec] Median"),
            ("ESO QC SCIPOST FWHM MAD", round(mad, 4), "[arcsec] Median absolute deviation")]


def science_recipes(ctx: NightContext, ob: ScienceOB) -> list[headers.Recipe]:
    k = ctx.plan.modes.index(ob.ins_mode) + 1 if len(ctx.plan.modes) > 1 else None
    cals = [(product_name(catg, ifu, None if catg == "MASTER_BIAS" else k), catg)
            for catg in ("MASTER_BIAS", "MASTER_FLAT", "WAVECAL_TABLE")
            for ifu in IFUS]
    pixtables = [(f"PIXTABLE_OBJECT_{e:04d}-{ifu:02d}.fits", "PIXTABLE_OBJECT")
                 for e in range(1, len(ob.exposures) + 1) for ifu in IFUS]
    return [headers.Recipe("muse_scibasic", [(e.name, "OBJECT") for e in ob.exposures], cals),
            headers.Recipe("muse_scipost", pixtables,
                           [("STD_RESPONSE_0001.fits", "STD_RESPONSE"),
                            ("STD_TELLURIC_0001.fits", "STD_TELLURIC"),
                            ("sky_lines.fits", "SKY_LINES")],
                           params=[("skymethod", "model"), ("lambdaref", "7000")])]


def flagged_voxels(model: CubeModel, stream: np.random.Generator) -> np.ndarray:
    """(plane, y, x) of the few voxels flagged in DQ, sorted by plane."""
    n = max(3, model.nx * model.ny * spectra.CUBE_NWAVE // 200_000)
    planes = stream.integers(0, spectra.CUBE_NWAVE, n)
    ys, xs = stream.integers(0, model.ny, n), stream.integers(0, model.nx, n)
    return np.array(sorted(zip(planes.tolist(), ys.tolist(), xs.tolist(), strict=True)),
                    dtype=np.int64).reshape(-1, 3)


def aperture_masks(model: CubeModel, radius: float) -> list[np.ndarray]:
    """Boolean (ny, nx) aperture of each source, centred on its 7000 A position."""
    gy, gx = np.mgrid[0:model.ny, 0:model.nx]
    return [np.hypot(gx - s.x, gy - s.y) <= radius for s in model.sources]


@dataclass
class CubeSums:
    """What one pass over the cube collects: white-light image and aperture spectra."""

    masks: list[np.ndarray]
    white: np.ndarray
    count: np.ndarray
    flux: list[np.ndarray]
    var: list[np.ndarray]

    @classmethod
    def empty(cls, model: CubeModel, radius: float) -> CubeSums:
        masks = aperture_masks(model, radius)
        return cls(masks, np.zeros((model.ny, model.nx)), np.zeros((model.ny, model.nx)),
                   [np.zeros(spectra.CUBE_NWAVE) for _ in masks],
                   [np.zeros(spectra.CUBE_NWAVE) for _ in masks])

    def add(self, b0: int, data: np.ndarray, variance: np.ndarray) -> None:
        """Accumulate the planes ``b0 .. b0 + len(data)``."""
        finite = np.isfinite(data)
        self.white += np.where(finite, data, 0).sum(axis=0)
        self.count += finite.sum(axis=0)
        planes = slice(b0, b0 + data.shape[0])
        for mask, flux, var in zip(self.masks, self.flux, self.var, strict=True):
            inside = data[:, mask]
            empty = ~np.isfinite(inside).any(axis=1)
            flux[planes] = np.where(empty, np.nan, np.nansum(inside, axis=1))
            var[planes] = np.where(empty, np.nan, np.nansum(variance[:, mask], axis=1))

    def image(self) -> np.ndarray:
        """IMAGE_FOV pixels: mean of the finite planes."""
        return (self.white / np.maximum(self.count, 1)).astype(np.float32)


def cube_block(ctx: NightContext, ob: ScienceOB, model: CubeModel, b0: int,
               flags: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DATA, STAT and DQ of the planes from ``b0`` on (``scale.cube_block`` of them)."""
    wave = spectra.cube_wavelengths()[b0:b0 + ctx.plan.scale.cube_block]
    flux = model.model_block(wave)
    residual, variance = model.residual_and_variance(
        wave, flux, BAD_SKY_FACTOR if ob.bad_sky else 1.0)
    gen = bitgen(ctx.plan.seed, "cube", ctx.key, ob.k, b0)
    noise = resampled_noise(normal_deviates(gen, flux.shape))
    data = flux + residual + noise * np.sqrt(variance)
    dq = np.zeros(flux.shape, np.uint8)
    for p, y, x in flags[(flags[:, 0] >= b0) & (flags[:, 0] < b0 + wave.size)]:
        data[p - b0, y, x] = variance[p - b0, y, x] = np.nan
        dq[p - b0, y, x] = FLAGGED_DQ
    if model.notch:
        cut = (wave >= spectra.NAD_NOTCH_A[0]) & (wave <= spectra.NAD_NOTCH_A[1])
        data[cut] = variance[cut] = np.nan
        dq[cut] = NOTCH_DQ
    return data, variance, dq


def qc_image(ctx: NightContext, ob: ScienceOB, model: CubeModel, flags: np.ndarray
             ) -> np.ndarray:
    """The mean DATA image within ``QC_HALF_WIDTH_A`` of ``QC_LAMBDA_A``, from the very
    blocks :func:`write_cube` writes (same seeds): what the pipeline measures on."""
    wave = spectra.cube_wavelengths()
    wanted = np.flatnonzero(np.abs(wave - QC_LAMBDA_A) <= QC_HALF_WIDTH_A)
    step = ctx.plan.scale.cube_block
    planes = []
    for b0 in range(wanted[0] // step * step, wanted[-1] + 1, step):
        data, _, _ = cube_block(ctx, ob, model, b0, flags)
        lo, hi = max(int(wanted[0]), b0), min(int(wanted[-1]) + 1, b0 + data.shape[0])
        planes.append(data[lo - b0:hi - b0])
    with np.errstate(invalid="ignore"):
        return np.nanmean(np.concatenate(planes), axis=0)


def write_cube(ctx: NightContext, ob: ScienceOB, model: CubeModel, path: Path,
               primary: list, flags: np.ndarray, radius: float) -> CubeSums:
    """Write DATACUBE_FINAL block by block; return the white image and aperture sums."""
    shape = (spectra.CUBE_NWAVE, model.ny, model.nx)
    wcs = wcs_cards(model, ob)
    name = ob.ob.targ_name
    specs = [ImageSpec(primary),
             ImageSpec([*wcs, *data_cards(BUNIT), ("OBJECT", f"{name} (DATA)")], shape, ">f4"),
             ImageSpec([*wcs, *stat_cards(BUNIT), ("OBJECT", f"{name} (STAT)")], shape, ">f4"),
             ImageSpec(dq_cards(8), shape, "u1")]
    sums = CubeSums.empty(model, radius)
    with PlannedFits(path, specs) as out:
        for b0 in range(0, spectra.CUBE_NWAVE, ctx.plan.scale.cube_block):
            data, variance, dq = cube_block(ctx, ob, model, b0, flags)
            first = b0 * model.ny * model.nx
            out.write(1, data.astype(">f4"), first)
            out.write(2, variance.astype(">f4"), first)
            out.write(3, dq, first)
            sums.add(b0, data, variance)
    return sums


def write_image_fov(path: Path, primary: list, model: CubeModel, ob: ScienceOB,
                    image: np.ndarray) -> None:
    """IMAGE_FOV: the white-light image in a DATA extension with a 2D WCS."""
    cards = wcs_cards(model, ob, cube=False) + data_cards(BUNIT, qual=False)
    write_images(path, [ImageSpec(primary), ImageSpec(cards, image.shape, ">f4")],
                 [None, image])


def source_coordinates(model: CubeModel, ob: ScienceOB) -> list[tuple[float, float]]:
    """(RA, Dec) in degrees of each source, through the cube's own WCS."""
    wcs = WCS(to_header(wcs_cards(model, ob, cube=False)))
    xs = np.array([s.x for s in model.sources])
    ys = np.array([s.y for s in model.sources])
    ra, dec = wcs.all_pix2world(xs, ys, 0)
    return [(round(float(a), 7), round(float(d), 7)) for a, d in zip(ra, dec, strict=True)]


def science_stream(ctx: NightContext, ob: ScienceOB, purpose: str) -> np.random.Generator:
    """The random stream of one purpose ('scene', 'flags') of one science OB."""
    return rng(ctx.plan.seed, purpose, ctx.key, ob.k)
