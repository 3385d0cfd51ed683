"""The qc tables as SQLAlchemy Core objects, reflected from the migrated database.

The SQL files in ``sql/`` are the one definition of the schema; Python reflects it
instead of restating it. Reflection happens once per engine and is cached.
"""

from __future__ import annotations

import warnings
from functools import cache

from sqlalchemy import Engine, MetaData, Table
from sqlalchemy import exc as sa_exc


class Tables:
    """Attribute access to the reflected ``qc`` tables: ``tables.files``, ``tables.metrics``."""

    def __init__(self, metadata: MetaData) -> None:
        self._metadata = metadata

    def __getattr__(self, name: str) -> Table:
        try:
            return self._metadata.tables[f"qc.{name}"]
        except KeyError:
            raise AttributeError(f"no table qc.{name}") from None


@cache
def _reflect(engine: Engine) -> Tables:
    metadata = MetaData(schema="qc")
    with warnings.catch_warnings():
        # pgSphere's spoint has no SQLAlchemy type; those columns are generated anyway
        warnings.filterwarnings("ignore", "Did not recognize type", sa_exc.SAWarning)
        metadata.reflect(bind=engine, schema="qc")
    return Tables(metadata)


def tables(engine: Engine) -> Tables:
    """The reflected qc tables of ``engine``'s database."""
    return _reflect(engine)
