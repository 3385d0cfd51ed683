"""Turn the headers of one MUSE file into catalogue rows (pure: no database, no pixels).

Raw frames carry ``ESO DPR CATG`` and 24 image extensions CHAN01..CHAN24, one per IFU;
pipeline products carry ``ESO PRO CATG`` and are either one file per IFU (master
calibrations) or one file for the whole field (cubes, images). The ESO night of a file is
the UT date of DATE-OBS minus 12 hours. Anything the catalogue cannot do without (INSTRUME,
a category, DATE-OBS) or any keyword of the wrong type makes :class:`Rejected`, whose
message names the keyword and the problem.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

from qcservice.errors import MusedcError
from qcservice.fits.header import Header, RawValue
from qcservice.ingest.harvest import harvest_qc
from qcservice.vocabulary import IFUS, N_IFU, PER_IFU_CATEGORIES

NIGHT_OFFSET = dt.timedelta(hours=12)
_CHAN = re.compile(r"^CHAN(\d\d)$")
_IFU_SUFFIX = re.compile(r"-(\d\d)\.fits(\.fz)?$")
_PROVENANCE = re.compile(r"^ESO PRO REC(\d+) (RAW|CAL)(\d+) (NAME|CATG|DATAMD5)$")


class Rejected(MusedcError, ValueError):
    """The file cannot be catalogued; the message says why."""


@dataclass
class Classified:
    """Everything the catalogue stores about one file, except its path and checksum."""

    kind: str                                   # 'raw' or 'product'
    night: dt.date
    release_date: dt.date
    prog_id: str | None
    hdus: list[dict] = field(default_factory=list)
    frame: dict | None = None                   # columns of qc.raw_frames
    product: dict | None = None                 # columns of qc.products
    provenance: list[dict] = field(default_factory=list)
    metrics: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # taken, but the file is not quite right


def _text(h: Header, key: str) -> str | None:
    value = h.get(key)
    if value is None:
        return None
    if isinstance(value, RawValue):
        raise Rejected(f"{key}: malformed value {str(value)!r}")
    if isinstance(value, bool | int | float):
        return str(value)
    return value.strip() or None


def _number(h: Header, key: str, missing: tuple[float, ...] = ()) -> float | None:
    value = h.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected(f"{key}: expected a number, found {value!r}")
    value = float(value)
    if math.isnan(value) or value in missing:
        return None
    return value


def _mean(h: Header, start: str, end: str) -> float | None:
    """Mean of a START/END pair; ESO writes -1 when a value is unavailable."""
    values = [v for v in (_number(h, start, (-1.0,)), _number(h, end, (-1.0,))) if v is not None]
    return sum(values) / len(values) if values else None


def _timestamp(h: Header, key: str, required: bool) -> dt.datetime | None:
    value = h.get(key)
    if value is None or value == "":
        if required:
            raise Rejected(f"{key} is missing: the night cannot be known")
        return None
    if not isinstance(value, str) or isinstance(value, RawValue):
        raise Rejected(f"{key}: expected an ISO date string, found {value!r}")
    try:
        stamp = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise Rejected(f"{key}: {value!r} is not an ISO date (YYYY-MM-DDThh:mm:ss)") from None
    return stamp.replace(tzinfo=None) if stamp.tzinfo is None else \
        stamp.astimezone(dt.UTC).replace(tzinfo=None)


def night_of(date_obs: dt.datetime) -> dt.date:
    """ESO's night: the date of DATE-OBS (UT) minus 12 hours."""
    return (date_obs - NIGHT_OFFSET).date()


def _common(h: Header) -> dict:
    """The observation columns raw frames and products share."""
    date_obs = _timestamp(h, "DATE-OBS", required=True)
    return {
        "night": night_of(date_obs),
        "date_obs": date_obs,
        "mjd_obs": _number(h, "MJD-OBS"),
        "ins_mode": _text(h, "ESO INS MODE"),
        "exptime": _number(h, "EXPTIME"),
        "object": _text(h, "OBJECT"),
        "targ_name": _text(h, "ESO OBS TARG NAME"),
        "prog_id": _text(h, "ESO OBS PROG ID"),
        "pi_coi": _text(h, "PI-COI") or _text(h, "ESO OBS PI-COI NAME"),
        "observer": _text(h, "OBSERVER") or _text(h, "ESO OBS OBSERVER"),
        "airmass": _mean(h, "ESO TEL AIRM START", "ESO TEL AIRM END"),
        "dimm_fwhm": _mean(h, "ESO TEL AMBI FWHM START", "ESO TEL AMBI FWHM END"),
        "ra": _number(h, "RA"),
        "dec": _number(h, "DEC"),
        "drot_posang": _number(h, "ESO INS DROT POSANG"),
    }


def _ifu_of(header: Header) -> int | None:
    match = _CHAN.match(header.extname or "")
    return int(match.group(1)) if match else None


def product_ifu(headers: list[Header], pro_catg: str, filename: str) -> int | None:
    """The IFU of a per-IFU product (None for whole-field categories).

    Looked for in order: an HDU named CHANnn, ``ESO DET CHIP NAME`` = CHANnn in the
    primary header, the ``-NN.fits`` suffix of the pipeline's file names.
    """
    if pro_catg not in PER_IFU_CATEGORIES:
        return None
    for h in headers:
        ifu = _ifu_of(h)
        if ifu is not None:
            return ifu
    chip = headers[0].get("ESO DET CHIP NAME")
    match = _CHAN.match(chip.strip()) if isinstance(chip, str) else None
    if match is None:
        match = _IFU_SUFFIX.search(filename)
    if match and 1 <= int(match.group(1)) <= N_IFU:
        return int(match.group(1))
    raise Rejected(f"{pro_catg} is written per IFU, but this file does not say which: no "
                   f"HDU CHANnn, no ESO DET CHIP NAME CHANnn, no -NN.fits in its name")


def _provenance(h: Header) -> list[dict]:
    rows: dict[tuple[int, str, int], dict] = {}
    for key in h.keywords():
        match = _PROVENANCE.match(key)
        if not match:
            continue
        rec, role, idx, what = int(match.group(1)), match.group(2), int(match.group(3)), \
            match.group(4)
        row = rows.setdefault((rec, role, idx), {
            "recipe_index": rec, "recipe": _text(h, f"ESO PRO REC{rec} ID"),
            "role": "raw" if role == "RAW" else "calib", "input_index": idx,
            "input_name": None, "input_catg": None, "input_md5": None})
        row[{"NAME": "input_name", "CATG": "input_catg", "DATAMD5": "input_md5"}[what]] = \
            _text(h, key)
    return [r for r in rows.values() if r["input_name"]]


def _creator(h: Header) -> str | None:
    """The last recipe that wrote the product, with its pipeline version."""
    n = 1
    while f"ESO PRO REC{n + 1} ID" in h:
        n += 1
    recipe, pipe = _text(h, f"ESO PRO REC{n} ID"), _text(h, f"ESO PRO REC{n} PIPE ID")
    if recipe and pipe:
        return f"{recipe} ({pipe})"
    return recipe or pipe


def _release_date(h: Header, night: dt.date, is_science: bool, proprietary_days: int) -> dt.date:
    """RELEASE from the header, else the night for calibrations, else the proprietary period."""
    value = h.get("RELEASE")
    if value is not None:
        if not isinstance(value, str) or isinstance(value, RawValue):
            raise Rejected(f"RELEASE: expected a date string, found {value!r}")
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise Rejected(f"RELEASE: {value!r} is not a date (YYYY-MM-DD)") from None
    return night + dt.timedelta(days=proprietary_days) if is_science else night


def classify(headers: list[Header], filename: str, proprietary_days: int = 365) -> Classified:
    """Catalogue rows for one file from its headers; raises :class:`Rejected`."""
    primary = headers[0]
    instrument = primary.get("INSTRUME")
    if instrument is None:
        raise Rejected("not a MUSE file: no INSTRUME keyword")
    if not isinstance(instrument, str) or instrument.strip() != "MUSE":
        raise Rejected(f"not a MUSE file: INSTRUME = {instrument!r}")
    for key in ("ESO PRO CATG", "ESO DPR CATG", "ESO DPR TYPE"):
        if not isinstance(primary.get(key, ""), str):   # a category, not a number or T/F
            raise Rejected(f"{key}: expected a string, found {primary.get(key)!r}")
    pro_catg, dpr_catg = _text(primary, "ESO PRO CATG"), _text(primary, "ESO DPR CATG")
    if pro_catg is None and dpr_catg is None:
        raise Rejected("neither ESO PRO CATG (product) nor ESO DPR CATG (raw frame) is set")
    common = _common(primary)
    hdus = [{"hdu_index": h.index, "extname": h.extname, "ifu": _ifu_of(h),
             "header": header_json(h)} for h in headers]

    if pro_catg is not None:
        ifu = product_ifu(headers, pro_catg, filename)
        is_science = primary.get("ESO PRO SCIENCE") is True
        product = {**common, "pro_catg": pro_catg, "pro_type": _text(primary, "ESO PRO TYPE"),
                   "pro_tech": _text(primary, "ESO PRO TECH"), "ifu": ifu,
                   "ncombine": _number(primary, "ESO PRO DATANCOM"),
                   "creation_date": _timestamp(primary, "DATE", required=False),
                   "creator": _creator(primary)}
        if product["ncombine"] is not None:
            product["ncombine"] = int(product["ncombine"])
        return Classified("product", common["night"],
                          _release_date(primary, common["night"], is_science, proprietary_days),
                          common["prog_id"], hdus, product=product,
                          provenance=_provenance(primary),
                          metrics=harvest_qc(headers, default_ifu=ifu),
                          warnings=[w for h in headers for w in h.warnings])

    chans = sorted(ifu for ifu in (_ifu_of(h) for h in headers[1:]) if ifu is not None)
    if not chans:
        raise Rejected(f"raw frame ({dpr_catg}) without any CHAN01..CHAN24 extension")
    missing = sorted(set(IFUS) - set(chans))
    if missing:
        names = ", ".join(f"CHAN{i:02d}" for i in missing[:6]) + (" ..." if len(missing) > 6
                                                                  else "")
        raise Rejected(f"raw frame has {24 - len(missing)} of the 24 IFU extensions "
                       f"(missing {names}): truncated or incompletely transferred")
    frame = {**common, "dpr_catg": dpr_catg, "dpr_type": _text(primary, "ESO DPR TYPE"),
             "dpr_tech": _text(primary, "ESO DPR TECH"), "n_ifu": len(chans),
             "arcfile": _text(primary, "ARCFILE"), "instrume": _text(primary, "INSTRUME")}
    obs_id = _number(primary, "ESO OBS ID")
    frame["obs_id"] = int(obs_id) if obs_id is not None and obs_id >= 0 else None
    is_science = dpr_catg.upper() != "CALIB"
    return Classified("raw", common["night"],
                      _release_date(primary, common["night"], is_science, proprietary_days),
                      common["prog_id"], hdus, frame=frame,
                      metrics=harvest_qc(headers, default_ifu=None),
                      warnings=[w for h in headers for w in h.warnings])


def _json_value(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return str(value).replace("\x00", "")
    return value


def header_json(h: Header) -> dict:
    """One HDU's header as a JSON object: keyword -> value, COMMENT/HISTORY as lists."""
    out: dict[str, object] = {}
    for card in h.cards:
        if card.keyword == "" and not str(card.value).strip():
            continue
        if card.keyword in ("COMMENT", "HISTORY", ""):
            out.setdefault(card.keyword or "BLANK", []).append(_json_value(card.value))
        else:
            out[card.keyword] = _json_value(card.value)
    return out
