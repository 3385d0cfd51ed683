"""The instrument's vocabulary, stated once: IFUs and slices, instrument modes, QA states,
the sets of file categories each step cares about, and the night-sky lines.

Every module takes these from here. SQL keeps its own copy only where SQL must (CHECK
constraints, the viewer's category functions, the QA-state table); tests/test_vocabulary.py
checks those copies against this module.
"""

from __future__ import annotations

# --- the instrument ---------------------------------------------------------------------
N_IFU = 24                                  # integral-field units, numbered 1..24
IFUS = range(1, N_IFU + 1)
N_SLICE = 48                                # slices per IFU, numbered 1..48

WAVE_RANGE_A = (4750.0, 9350.0)             # Angstrom, a cube's nominal range

# INS.MODE of MUSE: wide field with or without AO, nominal or extended wavelength range,
# and the AO narrow field mode.
INS_MODES = ("WFM-NOAO-N", "WFM-NOAO-E", "WFM-AO-N", "WFM-AO-E", "NFM-AO-N")

# --- QA states (Gemini FitsStorage vocabulary; the table qc.qa_states holds the same) ----
QA_STATES = ("Pass", "Usable", "Fail", "Check", "Undefined")
PASSED_STATES = ("Pass", "Usable")          # good enough to use, and to publish by default

# --- categories: DPR TYPE of raw frames, PRO CATG of products -------------------------
# Written by the pipeline once per IFU; everything else covers the whole field (cubes,
# images, responses), whose headers still carry the first IFU's DET CHIP keywords.
PER_IFU_CATEGORIES = frozenset({
    "MASTER_BIAS", "MASTER_DARK", "MASTER_FLAT", "TRACE_TABLE", "TRACE_SAMPLES",
    "WAVECAL_TABLE", "WAVECAL_RESIDUALS", "LSF_PROFILE", "ARC_RED_LAMP", "MASTER_AMPL",
    "NONLINEARITY_GAIN", "OBJECT_RED", "STD_RED", "SKY_RED", "PIXTABLE_OBJECT",
    "PIXTABLE_STD", "PIXTABLE_SKY", "PIXTABLE_ASTROMETRY", "PIXTABLE_FLAT",
})
# The science products the VO services publish (ObsCore), and the final products the
# storage plan counts apart from working files (the VO's, plus the extracted spectra).
PUBLISHED_CATEGORIES = ("DATACUBE_FINAL", "IMAGE_FOV")
FINAL_CATEGORIES = (*PUBLISHED_CATEGORIES, "SPECTRUM_1D")

# The nightly summary's column of each product category (qc.viewer_product_category in
# sql/038_viewer.sql says the same), and of raw frames by DPR CATG / TYPE
# (qc.viewer_raw_category: SCIENCE first, then the type; FLAT* and STD* by prefix).
SUMMARY_PRODUCT_CATEGORY = {
    "PIXTABLE_OBJECT": "science_scibasic", "OBJECT_RED": "science_scibasic",
    "DATACUBE_FINAL": "science_scipost",
    "MASTER_BIAS": "bias_red", "MASTER_DARK": "dark_red", "MASTER_FLAT": "flat_red",
    "WAVECAL_TABLE": "wave_red", "IMAGE_FOV": "image_fov", "SPECTRUM_1D": "spectrum_1d",
}
SUMMARY_RAW_SCIENCE = "science_raw"         # every DPR CATG = SCIENCE frame
SUMMARY_RAW_TYPE = {"BIAS": "bias_raw", "DARK": "dark_raw", "WAVE": "wave_raw"}
SUMMARY_RAW_TYPE_PREFIX = {"FLAT": "flat_raw", "STD": "std_raw"}


def summary_raw_category(dpr_catg: str | None, dpr_type: str | None) -> str | None:
    """The nightly summary's column of a raw frame (None: none of them)."""
    if dpr_catg == "SCIENCE":
        return SUMMARY_RAW_SCIENCE
    if dpr_type in SUMMARY_RAW_TYPE:
        return SUMMARY_RAW_TYPE[dpr_type]
    return next((key for prefix, key in SUMMARY_RAW_TYPE_PREFIX.items()
                 if (dpr_type or "").startswith(prefix)), None)


# --- night-sky emission lines (air wavelengths, Angstrom) -------------------------------
# The bright OH and [OI] lines QC measures the sky subtraction on (the viewer marks these
# on the residual plot, whose points are these lines) ...
SKY_LINES_A = (5577.34, 6300.30, 6363.78, 6863.96, 7276.41, 7316.28, 7340.89, 7750.64,
               7794.11, 7913.71, 7993.33, 8344.60, 8399.17, 8430.17, 8465.36, 8827.10,
               8885.85, 8919.63, 8943.40, 8958.09, 9001.38)
# ... and bright lines it does not use (Na D among them), which only the off-line noise
# calibration keeps clear of.
OTHER_SKY_LINES_A = (5889.95, 5895.92, 6498.73, 6533.04, 6553.62, 6923.22, 7571.75,
                     7821.50, 8761.32, 9310.00)
