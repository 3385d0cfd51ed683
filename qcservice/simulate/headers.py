"""Header cards of simulated files, modelled on real MUSE raw frames and products.

Every file gets the observation cards (telescope, instrument, times, programme, OB,
ambient conditions, ``RELEASE``). Raw frames add DPR and detector cards; each raw CHAN
extension carries its chip and ``ESO DET OUTn`` cards. Products copy the observation
cards of their first raw input (as the pipeline does) and add ``ESO PRO`` cards. A
per-IFU product marks its IFU exactly as muse_bias 2.8.7 does: ``EXTNAME = 'CHANnn'``
in the primary header, plus the raw CHAN's ``ESO DET CHIP`` cards (``ESO DET CHIP NAME
= 'CHANnn'``) and ``ESO DET OUTn`` cards, and the file name suffix ``-nn``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from qcservice.simulate import arclamps, observing
from qcservice.simulate.cards import CardSpec
from qcservice.simulate.detector import IfuDetector
from qcservice.simulate.layout import QUADRANTS, CcdLayout
from qcservice.simulate.schedule import Exposure
from qcservice.vocabulary import N_IFU

PIPE_ID = "muse/2.8.7"
DRS_ID = "cpl-7.2.3"
PRO_DID = "PRO-1.16"


def release_date(exp: Exposure, night: dt.date) -> dt.date:
    """Calibrations are public at once (the night itself); science one year later."""
    return observing.add_years(night, 1) if exp.ob.science else night


def _sexagesimal(value: float, hours: bool) -> str:
    v = value / 15.0 if hours else value
    sign = "-" if v < 0 else ""
    v = abs(v)
    d, rem = int(v), (v - int(v)) * 60
    return f"{sign}{d:02d}:{int(rem):02d}:{(rem - int(rem)) * 60:04.1f}"


def observation_cards(exp: Exposure, night: dt.date) -> list[CardSpec]:
    """Cards every file of this exposure (raw or product made from it) carries."""
    ob, start = exp.ob, exp.start
    alt, az = observing.alt_az(ob.ra_deg, ob.dec_deg, start)
    utc = start.hour * 3600 + start.minute * 60 + start.second
    pixscale = 0.025 if exp.ins_mode.startswith("NFM") else 0.2
    return [
        ("ORIGIN", "ESO-PARANAL", "European Southern Observatory"),
        ("TELESCOP", "ESO-VLT-U4", "ESO <TEL>"),
        ("INSTRUME", "MUSE", "Instrument used."),
        ("RA", ob.ra_deg, f"[deg] {_sexagesimal(ob.ra_deg, True)} RA (J2000) pointing"),
        ("DEC", ob.dec_deg, f"[deg] {_sexagesimal(ob.dec_deg, False)} DEC (J2000) pointing"),
        ("EQUINOX", 2000.0, "Standard FK5"),
        ("RADESYS", "FK5", "Coordinate system"),
        ("EXPTIME", exp.exptime_s, "Integration time"),
        ("MJD-OBS", round(observing.mjd(start), 8), "Obs start"),
        ("DATE-OBS", exp.date_obs, "Observing date"),
        ("UTC", float(utc), "[s] UTC at start"),
        ("LST", round(observing.lst_hours(start) * 3600.0, 3), "[s] LST at start"),
        ("PI-COI", ob.pi_coi, "PI-COI name."),
        ("OBSERVER", ob.observer, "Name of observer."),
        ("OBJECT", exp.object_name, "Original target."),
        ("RELEASE", release_date(exp, night).isoformat(), "Release date (YYYY-MM-DD)"),
        ("ESO OBS ID", ob.ob_id, "Observation block ID"),
        ("ESO OBS NAME", ob.name, "OB name"),
        ("ESO OBS OBSERVER", ob.observer, "Observer Name"),
        ("ESO OBS PI-COI NAME", ob.pi_coi, "PI-COI name"),
        ("ESO OBS PROG ID", ob.prog_id, "ESO program identification"),
        ("ESO OBS TARG NAME", ob.targ_name, "OB target name"),
        ("ESO TPL ID", exp.tpl_id, "Template signature ID"),
        ("ESO TPL EXPNO", exp.expno, "Exposure number within template"),
        ("ESO TPL NEXP", exp.nexp, "Number of exposures within template"),
        ("ESO TEL AIRM END", exp.airmass[1], "Airmass at end"),
        ("ESO TEL AIRM START", exp.airmass[0], "Airmass at start"),
        ("ESO TEL ALT", round(alt, 3), "[deg] Alt angle at start"),
        ("ESO TEL AMBI FWHM END", exp.seeing_arcsec[1], "[arcsec] Observatory Seeing"),
        ("ESO TEL AMBI FWHM START", exp.seeing_arcsec[0], "[arcsec] Observatory Seeing"),
        ("ESO TEL AZ", round(az, 3), "[deg] Az angle at start"),
        ("ESO TEL GEOELEV", observing.PARANAL_ELEV_M, "[m] Elevation above sea level"),
        ("ESO TEL GEOLAT", observing.PARANAL_LAT_DEG, "[deg] Tel geo latitude (+=North)"),
        ("ESO TEL GEOLON", observing.PARANAL_LON_DEG, "[deg] Tel geo longitude (+=East)"),
        ("ESO INS DROT MODE", "SKY", "Instrument derotator mode"),
        ("ESO INS DROT POSANG", ob.posang_deg, "[deg] Derotator position angle"),
        ("ESO INS MODE", exp.ins_mode, "Instrument mode used"),
        ("ESO DET BINX", 1, "Setup binning factor along X"),
        ("ESO DET BINY", 1, "Setup binning factor along Y"),
        ("ESO DET CHIPS", N_IFU, "Number of chips in the mosaic"),
        ("ESO DET OUTPUTS", 96, "Number of outputs"),
        ("ESO DET READ CURID", 1, "Used readout mode id"),
        ("ESO DET READ CURNAME", "SCI1.0", "Used readout mode name"),
        ("ESO OCS IPS PIXSCALE", pixscale, "[arcsec/pixel] Pixel scale"),
    ]


def raw_primary_cards(exp: Exposure, night: dt.date) -> list[CardSpec]:
    """Primary header of a raw frame; a broken frame loses its DATE-OBS."""
    written = exp.start + dt.timedelta(seconds=exp.exptime_s + 48.0)
    cards = [("DATE", written.strftime("%Y-%m-%dT%H:%M:%S"), "Date the file was written"),
             *observation_cards(exp, night),
             ("ARCFILE", exp.name, "Archive File Name"),
             ("ESO DPR CATG", exp.dpr[0], "Observation category"),
             ("ESO DPR TECH", exp.dpr[2], "Observation technique"),
             ("ESO DPR TYPE", exp.dpr[1], "Observation type"),
             ("ESO DET DIT1", exp.exptime_s, "[s] Actual subintegration time"),
             ("ESO DET EXP NO", exp.seq + 1, "Unique exposure ID number"),
             *arclamps.lamp_cards(exp.tag, exp.expno)]
    if exp.broken:
        cards = [c for c in cards if c[0] != "DATE-OBS"]
    return cards


def chip_cards(layout: CcdLayout, det: IfuDetector) -> list[CardSpec]:
    """``EXTNAME`` and ``ESO DET CHIP``/``OUTn`` cards of one IFU's CCD."""
    name = f"CHAN{det.ifu:02d}"
    cards: list[CardSpec] = [
        ("EXTNAME", name, "Extension name"),
        ("ESO DET CHIP NAME", name, "Detector chip name"),
        ("ESO DET CHIP ID", det.chip_id, "Detector chip identification"),
        ("ESO DET CHIP INDEX", det.chip_index, "Chip index"),
        ("ESO DET CHIP DATE", "2012-10-12", "[YYYY-MM-DD] Date of installation"),
        ("ESO DET CHIP LIVE", True, "Detector alive"),
        ("ESO DET CHIP NX", 2 * layout.nx, "Physical active pixels in X"),
        ("ESO DET CHIP NY", 2 * layout.ny, "Physical active pixels in Y"),
        ("ESO DET CHIP PSZX", 15.0, "[um] Size of pixel in X"),
        ("ESO DET CHIP PSZY", 15.0, "[um] Size of pixel in Y"),
    ]
    for q in QUADRANTS:
        qt = det.quadrant(q)
        cards.extend(layout.out_cards(q, qt.gain, qt.ron_e))
    return cards


@dataclass
class Recipe:
    """One processing step recorded as ``ESO PRO RECi``."""

    recipe_id: str
    raws: list[tuple[str, str]] = field(default_factory=list)  # (file name, category)
    cals: list[tuple[str, str]] = field(default_factory=list)
    pipe_id: str = PIPE_ID
    drs_id: str = DRS_ID
    params: list[tuple[str, str]] = field(default_factory=list)


def pro_cards(pro_catg: str, steps: list[Recipe], science: bool,
              datancom: int | None = None) -> list[CardSpec]:
    """The ``ESO PRO`` cards of a product made by ``steps`` (REC1, REC2, ...)."""
    cards: list[CardSpec] = [("ESO PRO DID", PRO_DID, "Data dictionary for PRO"),
                             ("ESO PRO CATG", pro_catg, "Category of pipeline product frame"),
                             ("ESO PRO TYPE", "REDUCED", "Product type"),
                             ("ESO PRO TECH", "IFU", "Observation technique"),
                             ("ESO PRO SCIENCE", science, "Scientific product if T")]
    for i, step in enumerate(steps, start=1):
        rec = f"ESO PRO REC{i}"
        cards += [(f"{rec} ID", step.recipe_id, "Pipeline recipe (unique) identifier"),
                  (f"{rec} DRS ID", step.drs_id, "Data Reduction System identifier"),
                  (f"{rec} PIPE ID", step.pipe_id, "Pipeline (unique) identifier")]
        for j, (name, catg) in enumerate(step.raws, start=1):
            cards += [(f"{rec} RAW{j} NAME", name, "File name of raw frame"),
                      (f"{rec} RAW{j} CATG", catg, "Category of raw frame")]
        for j, (name, catg) in enumerate(step.cals, start=1):
            cards += [(f"{rec} CAL{j} NAME", name, "File name of calibration frame"),
                      (f"{rec} CAL{j} CATG", catg, "Category of calibration frame")]
        for j, (name, value) in enumerate(step.params, start=1):
            cards += [(f"{rec} PARAM{j} NAME", name, "Recipe parameter"),
                      (f"{rec} PARAM{j} VALUE", value, "Value of the parameter")]
    if datancom is not None:
        cards.append(("ESO PRO DATANCOM", datancom, "Number of combined frames"))
    return cards


def product_primary_cards(first_raw: Exposure, night: dt.date, created: dt.datetime,
                          file_name: str, pro: list[CardSpec],
                          chip: list[CardSpec] | None = None) -> list[CardSpec]:
    """Primary header of a product: creation DATE, observation cards, PRO, chip cards.

    ``chip`` (from :func:`chip_cards`) goes before the PRO cards, as in muse_bias
    output, so that the primary header holds ``EXTNAME = 'CHANnn'`` for per-IFU
    products. Like the pipeline's, product headers keep the first raw's ARCFILE
    (and name it again in ESO PRO ANCESTOR): ARCFILE does not mean "raw frame".
    """
    cards: list[CardSpec] = [("DATE", created.strftime("%Y-%m-%dT%H:%M:%S"),
                              "file creation date (YYYY-MM-DDThh:mm:ss UT)")]
    cards += observation_cards(first_raw, night)
    cards += [("ARCFILE", first_raw.name, "Archive File Name"),
              ("PIPEFILE", file_name, "Filename of data product")]
    if chip:  # trimmed products lose the pre- and overscan keywords, as in muse_bias
        cards += [c for c in chip if not c[0].endswith(("PRSCX", "PRSCY", "OVSCX", "OVSCY"))]
    return [*cards, ("ESO PRO ANCESTOR", first_raw.name, "Inherited file name"), *pro]
