"""``musedc ancillary``: register images, cubes and catalogues of other instruments."""

from __future__ import annotations

import datetime as dt

import click

from qcservice.cli_options import date_option
from qcservice.db import make_engine

# the readers (astropy) are imported by the commands that need them, not at start-up


@click.group()
def ancillary() -> None:
    """Ancillary data: imaging and catalogues of MUSE fields by other instruments.

    Registered files are linked, by sky overlap, from every MUSE product they cover: its
    page in the QA viewer, its DataLink (#counterpart) and the TAP table muse.ancillary.
    """


@ancillary.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--collection", required=True,
              help="Collection the files belong to (e.g. HST-A478, MUSE-UDF-CAT).")
@click.option("--group", default=None,
              help="Owner group: only its members see the files before --release.")
@click.option("--release", callback=date_option, default=None,
              help="Release date (YYYY-MM-DD) of proprietary ancillary data.")
@click.pass_obj
def ancillary_add(obj, files: tuple[str, ...], collection: str, group: str | None,
                  release: dt.date | None) -> None:
    """Register FILES (FITS images or cubes with a WCS; catalogues in FITS, VOTable, CSV,
    ECSV or ASCII with RA/Dec columns in degrees) by their sky footprint.

    Registering a file again updates it in place. A file that cannot be read is named
    with the reason and the others go on; the exit status is 1 when any failed.
    """
    from qcservice.ancillary.register import Rights, register_files

    outcomes = register_files(make_engine(obj.settings), files, collection,
                              Rights(group, release))
    for outcome in outcomes:
        click.echo(outcome.describe(), err=outcome.action == "failed")
    failed = sum(1 for o in outcomes if o.action == "failed")
    click.echo(f"{len(outcomes) - failed} files registered or up to date, {failed} failed")
    if failed:
        raise SystemExit(1)


@ancillary.command("list")
@click.option("--collection", default=None, help="Only this collection.")
@click.option("--overlapping", "product", type=int, default=None, metavar="FILE_ID",
              help="Only the files overlapping this MUSE product (its qc file_id).")
@click.pass_obj
def ancillary_list(obj, collection: str | None, product: int | None) -> None:
    """List registered ancillary files: collection, kind, instrument, centre, file."""
    from qcservice.ancillary.overlap import for_product
    from qcservice.ancillary.register import list_ancillary

    with make_engine(obj.settings).connect() as conn:
        items = for_product(conn, product, None) if product is not None \
            else list_ancillary(conn, collection)
    items = [i for i in items if collection is None or i["collection"] == collection]
    if not items:
        click.echo("no ancillary data" + (" overlaps it" if product is not None else ""))
        return
    for i in items:
        what = f"{i['kind']} {i['instrument'] or ''} {i['band'] or ''}".strip()
        click.echo(f"{i['anc_id']:>6} {i['collection']:<20} {what:<24} "
                   f"{i['ra']:10.5f} {i['dec']:+10.5f}  {i['filename']}")


@ancillary.command("remove")
@click.argument("files", nargs=-1, required=True)
@click.pass_obj
def ancillary_remove(obj, files: tuple[str, ...]) -> None:
    """Forget the registration of FILES (the files themselves are not touched)."""
    from qcservice.ancillary.register import remove_files

    gone = remove_files(make_engine(obj.settings), files)
    for path in gone:
        click.echo(f"removed {path}")
    if len(gone) < len(files):
        click.echo(f"{len(files) - len(gone)} of the paths named were not registered",
                   err=True)
        raise SystemExit(1)
