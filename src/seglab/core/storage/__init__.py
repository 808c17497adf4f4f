"""SQLite storage of a project: schema, migrations and connections."""

from seglab.core.storage.connection import connect
from seglab.core.storage.schema import SCHEMA_VERSION, migrate

__all__ = ["SCHEMA_VERSION", "connect", "migrate"]
