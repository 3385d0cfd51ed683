"""The catalogue database: the embedded cluster, migrations and connections."""

from qcservice.db.engine import SchemaOutdated, database_url, make_engine

__all__ = ["SchemaOutdated", "database_url", "make_engine"]
