"""SegLab: segment a product's users and accounts and chart how segments behave.

The Python API (reference: docs/api.md)::

    import seglab
    with seglab.open("acme.seglab") as p:
        p.count("Power users")
        p.analyze("trend", segments=["Power users"], event="login", measure="users", interval="week")
        p.members("Power users").head()

Importing ``seglab`` must stay cheap and Qt-free: the CLI and the core use it, and pandas
is imported only when a call returns a DataFrame.
"""

from seglab._version import __version__
from seglab.api import Project, Segment, connect, import_files, new, open
from seglab.core.errors import (
    ProjectLockedError,
    ReadOnlyError,
    SegLabError,
    SegmentError,
)

SeglabError = SegLabError
"""Every error SegLab raises on purpose; ``str(error)`` is the sentence the command line prints."""

__all__ = [
    "Project",
    "ProjectLockedError",
    "ReadOnlyError",
    "SegLabError",
    "SeglabError",
    "Segment",
    "SegmentError",
    "__version__",
    "connect",
    "import_files",
    "new",
    "open",
]
