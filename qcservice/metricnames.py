"""Names of the metrics batch QC computes (``qc.metrics.name``, source 'computed'), stated
once: the QC tasks write them, the viewer, the VO services and the threshold files read
them. A name is ``<task>.<quantity>``; the unit travels with each value (``Metric.unit``:
some follow the file's BUNIT). QC keywords harvested from the pipeline's headers keep their
ESO names (``QC BIAS MASTERi RON``; ``ingest/qc_units.tsv``) and are not listed here.
tests/test_metricnames.py checks that every name the code and the thresholds use is here.
"""

from __future__ import annotations

# raw calibration frames (qc/raw.py): per IFU, and per quadrant Q1..Q4 unless said
RAW_NSATURATED = "raw.nsaturated"
RAW_LEVEL = "raw.level"
RAW_NOISE = "raw.noise"
RAW_OVERSCAN = "raw.overscan"
BIAS_LEVEL = "bias.level"
BIAS_RON = "bias.ron"
BIAS_RON_E = "bias.ron_e"
DARK_CURRENT = "dark.current"
FLAT_FLUX = "flat.flux"
FLAT_NSATURATED = "flat.nsaturated"
FLAT_DEAD_SLICES = "flat.dead_slices"

# master calibrations (qc/masters.py), per IFU
MASTER_BIAS_LEVEL = "master_bias.level"
MASTER_BIAS_NOISE = "master_bias.noise"
MASTER_DARK_MEDIAN = "master_dark.median"
MASTER_FLAT_NSATURATED = "master_flat.nsaturated"
MASTER_FLAT_DEAD_SLICES = "master_flat.dead_slices"
WAVECAL_NLINES_MIN = "wavecal.nlines_min"
WAVECAL_NLINES_MEDIAN = "wavecal.nlines_median"
WAVECAL_FIT_RMS = "wavecal.fit_rms"
WAVECAL_RESOLVING_POWER = "wavecal.resolving_power"
WAVECAL_NSLICES = "wavecal.nslices"

# final cubes (qc/cubeqc.py, qc/psf.py, qc/sky.py), whole field; sub-unit a wavelength
# in Angstrom, a star S1.., or a sky line
CUBE_WHITE_MEDIAN = "cube.white_median"
CUBE_PIXSCALE = "cube.pixscale"
PSF_FWHM = "psf.fwhm"
PSF_NSTARS = "psf.nstars"
PSF_STAR_X = "psf.star_x"
PSF_STAR_Y = "psf.star_y"
PSF_STAR_FWHM = "psf.star_fwhm"
PSF_STAR_RMS = "psf.star_rms"
PSF_DRIFT_RMS = "psf.drift_rms"
PSF_DRIFT_X = "psf.drift_x"
PSF_DRIFT_Y = "psf.drift_y"
PSF_DRIFT_DX = "psf.drift_dx"
PSF_DRIFT_DY = "psf.drift_dy"
SKY_VERIFIED = "sky.verified"
SKY_CONTINUUM_SIGMA = "sky.continuum_sigma"
SKY_NLINES = "sky.nlines"
SKY_NSPAXELS = "sky.nspaxels"
SKY_RESIDUAL = "sky.residual"
SKY_RESIDUAL_SPECTRUM = "sky.residual_spectrum"
SKY_NOISE_SCALE = "sky.noise_scale"
SKY_NULL_RATIO = "sky.null_ratio"
SKY_RESIDUAL_NOISE = "sky.residual_noise"
SKY_RESIDUAL_RATIO = "sky.residual_ratio"

COMPUTED = frozenset(value for key, value in dict(globals()).items()
                     if key.isupper() and isinstance(value, str))
