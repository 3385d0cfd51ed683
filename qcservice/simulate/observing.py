"""Where and when: ESO periods and programme ids, Paranal sidereal time and airmass.

Times are naive UT datetimes. The sidereal time uses the IAU 1982 GMST polynomial
truncated to its linear term (good to a second of time over decades), so no IERS
tables are needed and results are deterministic.
"""

from __future__ import annotations

import datetime as dt
import math

PARANAL_LAT_DEG = -24.6272
PARANAL_LON_DEG = -70.4045
PARANAL_ELEV_M = 2648.0
CALIB_PROG_ID = "60.A-9100(A)"
_MJD0 = dt.datetime(1858, 11, 17)
# (run number, letter) of the simulated GTO programmes, one per instrument mode.
_GTO_RUNS = {"WFM-NOAO-N": ("0289", "A"), "WFM-NOAO-E": ("0859", "A"),
             "WFM-AO-N": ("0116", "B"), "WFM-AO-E": ("0205", "A"),
             "NFM-AO-N": ("0010", "C")}
# Spectrophotometric standards of the MUSE calibration plan: name, RA, Dec (deg, J2000).
STANDARDS = (("GD71", 88.1150, 15.8869), ("LTT3218", 130.3835, -32.9428),
             ("GD153", 194.2596, 22.0313), ("EG274", 245.8908, -39.2295),
             ("LTT7987", 302.7367, -30.2183), ("Feige110", 349.9933, -5.1656),
             ("LTT1788", 57.0917, -39.1436), ("HD49798", 102.0196, -44.3161))


def eso_period(when: dt.date) -> int:
    """ESO period number: P94 ran from 2014-10-01 to 2015-03-31, six months each."""
    half = when.year * 2 + (0 if when.month < 4 else 1 if when.month < 10 else 2)
    return half - 3936


def science_prog_id(night: dt.date, ins_mode: str) -> str:
    """A GTO programme id such as '094.A-0289(A)': period of the night, run of the mode."""
    run, letter = _GTO_RUNS[ins_mode]
    return f"{eso_period(night):03d}.A-{run}({letter})"


def mjd(when: dt.datetime) -> float:
    """Modified Julian Date of a UT datetime."""
    return (when - _MJD0).total_seconds() / 86400.0


def lst_hours(when: dt.datetime) -> float:
    """Local sidereal time at Paranal (hours)."""
    days = mjd(when) - 51544.5
    gmst = 18.697374558 + 24.06570982441908 * days
    return (gmst + PARANAL_LON_DEG / 15.0) % 24.0


def alt_az(ra_deg: float, dec_deg: float, when: dt.datetime) -> tuple[float, float]:
    """Altitude and azimuth (deg, azimuth from north through east) at Paranal."""
    ha = math.radians((lst_hours(when) * 15.0 - ra_deg) % 360.0)
    dec, lat = math.radians(dec_deg), math.radians(PARANAL_LAT_DEG)
    sin_alt = math.sin(dec) * math.sin(lat) + math.cos(dec) * math.cos(lat) * math.cos(ha)
    alt = math.asin(max(-1.0, min(1.0, sin_alt)))
    az = math.atan2(-math.sin(ha) * math.cos(dec),
                    math.sin(dec) * math.cos(lat) - math.cos(dec) * math.sin(lat) * math.cos(ha))
    return math.degrees(alt), math.degrees(az) % 360.0


def airmass(ra_deg: float, dec_deg: float, when: dt.datetime) -> float:
    """Plane-parallel airmass sec(z), floored at altitude 20 deg (3 decimals)."""
    alt, _ = alt_az(ra_deg, dec_deg, when)
    return round(1.0 / math.sin(math.radians(max(alt, 20.0))), 3)


def transiting_ra(when: dt.datetime, offset_h: float) -> float:
    """An RA (deg) that crosses the meridian ``offset_h`` hours after ``when``."""
    return ((lst_hours(when) + offset_h) * 15.0) % 360.0


def best_standard(when: dt.datetime) -> tuple[str, float, float]:
    """The standard star highest in the sky at ``when``."""
    return max(STANDARDS, key=lambda s: alt_az(s[1], s[2], when)[0])


def target_name(ra_deg: float, dec_deg: float) -> str:
    """An IAU-style field name such as 'J0413+1027' from its coordinates."""
    ra_h = ra_deg / 15.0
    sign = "+" if dec_deg >= 0 else "-"
    d = abs(dec_deg)
    return (f"J{int(ra_h):02d}{int(ra_h % 1 * 60):02d}{sign}{int(d):02d}"
            f"{int(d % 1 * 60):02d}")


def add_years(day: dt.date, years: int) -> dt.date:
    """``day`` plus whole years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def night_of(when: dt.datetime) -> dt.date:
    """ESO's night of an exposure: the UT date of DATE-OBS minus 12 hours."""
    return (when - dt.timedelta(hours=12)).date()
