"""The summary's categories (columns). Which frames each counts, and whether a frame is
valid, is decided in SQL, once, by ``qc.viewer_raw_category``, ``qc.viewer_product_category``
and ``qc.viewer_validity`` (``sql/038_viewer.sql``): a raw frame is valid when passed
(QA state Pass/Usable) or, without such a state, when QC assessed its IFUs and none is
invalid; invalid when Fail or any IFU is invalid. A product goes by its QA state alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from qcservice import metricnames as mn
from qcservice.vocabulary import SUMMARY_PRODUCT_CATEGORY, SUMMARY_RAW_TYPE


@dataclass(frozen=True)
class Category:
    """One column of the nightly summary."""

    key: str
    group: str   # SCIENCE, BIAS, DARK, FLAT, WAVE, OTHER
    label: str   # raw, scibasic, scipost, reduced; STD, image, spectra


CATEGORIES = (
    Category("science_raw", "SCIENCE", "raw"),
    Category("science_scibasic", "SCIENCE", "scibasic"),
    Category("science_scipost", "SCIENCE", "scipost"),
    Category("bias_raw", "BIAS", "raw"),
    Category("bias_red", "BIAS", "reduced"),
    Category("dark_raw", "DARK", "raw"),
    Category("dark_red", "DARK", "reduced"),
    Category("flat_raw", "FLAT", "raw"),
    Category("flat_red", "FLAT", "reduced"),
    Category("wave_raw", "WAVE", "raw"),
    Category("wave_red", "WAVE", "reduced"),
    Category("std_raw", "OTHER", "STD"),
    Category("image_fov", "OTHER", "image"),
    Category("spectrum_1d", "OTHER", "spectra"),
)
BY_KEY = {c.key: c for c in CATEGORIES}
GROUPS = ("SCIENCE", "BIAS", "DARK", "FLAT", "WAVE", "OTHER")

# master calibrations: the summary category -> PRO CATG (the QC view of masters)
MASTERS = {key: catg for catg, key in SUMMARY_PRODUCT_CATEGORY.items() if key.endswith("_red")}

# The key metric of each category (heat map, per-IFU history), as batch QC computes it
# per IFU, and the files it is read from: the masters above, or the raw frames of the
# column's DPR TYPE (the lamp flats of FLAT*, the OBJECT frames of SCIENCE).
_KEY_METRIC = {
    "science_raw": mn.RAW_LEVEL,
    "bias_raw": mn.BIAS_RON_E,
    "bias_red": mn.MASTER_BIAS_NOISE,
    "dark_raw": mn.DARK_CURRENT,
    "dark_red": mn.MASTER_DARK_MEDIAN,
    "flat_raw": mn.FLAT_FLUX,
    "flat_red": mn.MASTER_FLAT_DEAD_SLICES,
    "wave_raw": mn.RAW_LEVEL,
    "wave_red": mn.WAVECAL_FIT_RMS,
}
_FILE_TYPE = {"science_raw": "OBJECT", "flat_raw": "FLAT,LAMP",
              **{key: dpr_type for dpr_type, key in SUMMARY_RAW_TYPE.items()}, **MASTERS}
# category -> (DPR TYPE or PRO CATG of the files, metric name)
KEY_METRICS = {key: (_FILE_TYPE[key], metric) for key, metric in _KEY_METRIC.items()}
