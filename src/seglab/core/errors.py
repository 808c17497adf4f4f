"""Errors the user can act on. Their message is one sentence meant for a person.

The CLI maps :class:`UserError` (and subclasses) to exit code 2 with the message on
stderr; anything else is exit code 1.
"""


class SegLabError(Exception):
    """Base class for every error SegLab raises on purpose."""


class UserError(SegLabError):
    """The request or the input was wrong; the message says what and where."""


class ProjectError(UserError):
    """A project file cannot be created or opened (see the message)."""


class ProjectLockedError(ProjectError):
    """The project is open in another SegLab process."""

    def __init__(self, message: str, owner: str = ""):
        super().__init__(message)
        self.owner = owner


class ReadOnlyError(ProjectError):
    """A write was asked of a project opened read-only (the Python API's ``seglab.open``)."""


class ImportFileError(UserError):
    """A file cannot be imported at all (not text, no header, unknown kind...)."""


class SegmentError(UserError):
    """A segment definition is invalid; ``path`` is the JSON path of the problem."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message


class OutputError(UserError):
    """An output file cannot be written there (a folder, a device, a project...): see the message."""


class StorageError(SegLabError):
    """The disk is full or failed (I/O error): nothing was written. Not the request's fault (exit 1)."""


class AnalysisError(UserError):
    """An analysis request is invalid."""


class Cancelled(SegLabError):
    """The work was cancelled by the user; nothing was written."""
