"""The columns the data centre adds to ``ivoa.obscore``, declared ONCE.

Each :class:`ObscoreColumn` carries name, type, unit, UCD and description. Every DaCHS
text that names these columns is generated from this list when the instance is installed
(``Instance.install_files``): the three obscore STREAMs of ``userconfig.rd`` (the
``obscoreClause`` casts, the ``mixinPar`` defaults, the column elements), the columns of
``muse.cubes`` and ``muse.spectra`` and the bindings of their ``//obscore`` mixins. The
RDs hold placeholders (``@OBSCORE_...@``) where the generated text goes.

A column of standard ObsCore that DaCHS's mixins fill from a parameter (``standard``:
the parameter's alias, e.g. ``creatorDID``) is declared here too when the data centre
fills it: it becomes a column of the tables bound to that parameter, and is no extra
column of ``ivoa.obscore`` (DaCHS declares it there).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr


@dataclass(frozen=True)
class ObscoreColumn:
    """One extra ObsCore column; ``spectra``: muse.spectra has it too (else NULL)."""

    name: str
    type: str
    ucd: str
    description: str
    unit: str = ""
    utype: str = ""
    null_literal: str | None = None
    spectra: bool = False
    standard: str = ""

    @property
    def key(self) -> str:
        """The mixin parameter: the name in camelCase (DaCHS macro names)."""
        if self.standard:
            return self.standard
        head, *rest = self.name.split("_")
        return head + "".join(part.capitalize() for part in rest)

    def element(self, verb_level: int | None = None) -> str:
        attrs = [f"name={quoteattr(self.name)}", f"type={quoteattr(self.type)}",
                 f"ucd={quoteattr(self.ucd)}"]
        if self.unit:
            attrs.append(f"unit={quoteattr(self.unit)}")
        if self.utype:
            attrs.append(f"utype={quoteattr(self.utype)}")
        attrs.append(f"description={quoteattr(self.description)}")
        if verb_level is not None:
            attrs.append(f'verbLevel="{verb_level}"')
        if self.null_literal is None:
            return f"<column {' '.join(attrs)}/>"
        return (f"<column {' '.join(attrs)}>"
                f'<values nullLiteral="{self.null_literal}"/></column>')


ARCSEC_PSF = "phys.angSize;instr.det.psf"
COLUMNS = (
    ObscoreColumn("qa_state", "text", "meta.code.qual",
                  "QA state of the product after quality control (Pass, Usable, Fail, "
                  "Check, Undefined)", spectra=True),
    ObscoreColumn("n_valid_ifu", "smallint", "meta.number;instr",
                  "Number of the 24 MUSE IFUs flagged valid by QC for this product and "
                  "the frames it was made from", null_literal="-1"),
    ObscoreColumn("psf_fwhm_7000", "real", ARCSEC_PSF,
                  "FWHM of the point spread function at 7000 Angstrom (QC)", unit="arcsec"),
    ObscoreColumn("psf_fwhm_blue", "real", ARCSEC_PSF,
                  "FWHM of the point spread function at the blue end (5000 Angstrom, QC)",
                  unit="arcsec"),
    ObscoreColumn("psf_fwhm_red", "real", ARCSEC_PSF,
                  "FWHM of the point spread function at the red end (9000 Angstrom, QC)",
                  unit="arcsec"),
    ObscoreColumn("sky_residual", "real", "stat.fit.residual",
                  "Sky-subtraction residual over what noise alone gives (RMS ratio at "
                  "the sky lines; 1: noise-limited; QC)"),
    ObscoreColumn("astrometry_rms", "real", "stat.stdev;pos",
                  "RMS offset of the PSF stars from their 7000 A positions, over "
                  "wavelength (QC psf.drift_rms x spaxel size)", unit="arcsec"),
    ObscoreColumn("dimm_seeing", "real", "instr.obsty.seeing",
                  "DIMM seeing during the observation (mean of TEL AMBI FWHM START/END)",
                  unit="arcsec", spectra=True),
    ObscoreColumn("airmass", "real", "obs.airMass", "Mean airmass of the observation",
                  spectra=True),
    ObscoreColumn("ins_mode", "text", "instr.setup",
                  "MUSE instrument mode (ESO INS MODE), e.g. WFM-NOAO-N", spectra=True),
    ObscoreColumn("prog_id", "text", "meta.id;obs.proposal",
                  "ESO programme identifier (ESO OBS PROG ID)", spectra=True),
    ObscoreColumn("n_obs", "smallint", "meta.number;obs",
                  "Number of raw science exposures combined into the product (as ESO's "
                  "n_obs)", null_literal="-1"),
    ObscoreColumn("obstech", "text", "meta.code.class;instr.setup",
                  "Observation technique (as ESO's obstech): IFU for MUSE"),
    ObscoreColumn("last_mod_date", "timestamp", "time.processing",
                  "Last change of the product or of its QA decision (as ESO's "
                  "last_mod_date)"),
    ObscoreColumn("abmaglim", "real", "phot.mag;stat.max",
                  "5-sigma limiting AB magnitude of a point source (total flux, as ESO's "
                  "abmaglim): from the noise of the white-light image (robust scatter of "
                  "neighbouring spaxels), in an aperture of radius the PSF FWHM "
                  "(s_resolution), corrected to total flux for a Gaussian PSF, at the mean "
                  "wavelength; optimistic where the noise is correlated", unit="mag"),
    ObscoreColumn("snr", "real", "stat.snr",
                  "Median signal-to-noise ratio per spectral pixel (FLUX/ERR) of a "
                  "spectrum (as ESO's snr); NULL for cubes and images", spectra=True),
    ObscoreColumn("obs_creator_did", "text", "meta.id",
                  "IVOA dataset identifier given by the creator: ESO's (ivo://eso.org/ID?"
                  "ADP...) for an ESO archive product, else the consortium's own, which "
                  "created and publishes it (= obs_publisher_did)",
                  spectra=True, standard="creatorDID"),
    ObscoreColumn("obs_release_date", "timestamp", "time.release",
                  "Date the data became or become public; proprietary before it",
                  utype="obscore:curation.releasedate", spectra=True),
)


def _table_columns(columns) -> str:
    return "\n\t\t".join(c.element() for c in columns)


def _bindings(columns) -> str:
    return "\n\t\t\t".join(f'{c.key}="{c.name}"' for c in columns)


def placeholders() -> dict[str, str]:
    """Placeholder -> generated text, for the RDs and userconfig.rd."""
    spectra = [c for c in COLUMNS if c.spectra]
    extra = [c for c in COLUMNS if not c.standard]
    return {
        "@OBSCORE_CLAUSE@": ",\n\t\t\t".join(
            f"CAST(\\\\{c.key} AS {c.type}) AS {c.name}" for c in extra),
        "@OBSCORE_PARS@": "\n\t\t".join(
            f'<mixinPar key="{c.key}">NULL</mixinPar>' for c in extra),
        "@OBSCORE_COLUMNS@": "\n\t\t".join(c.element(verb_level=15) for c in extra),
        "@CUBES_COLUMNS@": _table_columns(COLUMNS),
        "@CUBES_BINDINGS@": _bindings(COLUMNS),
        "@SPECTRA_COLUMNS@": _table_columns(spectra),
        "@SPECTRA_BINDINGS@": _bindings(spectra),
    }


def render(text: str) -> str:
    """``text`` with every placeholder replaced by its generated declaration."""
    for token, value in placeholders().items():
        text = text.replace(token, value)
    return text
