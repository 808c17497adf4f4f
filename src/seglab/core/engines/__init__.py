"""Engines: where a project's events are read (local SQLite file, or a ClickHouse source).

See :mod:`seglab.core.engines.base` and docs/sources.md."""

from seglab.core.engines.base import Engine, LocalEngine, open_engine, source_of

__all__ = ["Engine", "LocalEngine", "open_engine", "source_of"]
