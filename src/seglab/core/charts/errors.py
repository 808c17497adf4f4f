"""The charts' errors: a sentence for a person."""

from __future__ import annotations

from seglab.core.errors import UserError


class ChartError(UserError):
    """A chart cannot be shown or saved; the message says why, for a person."""


class MissingSegmentError(ChartError):
    """A chart names a saved segment that no longer exists."""

    def __init__(self, names: list[str]):
        self.names = list(names)
        quoted = ", ".join(f"“{n}”" for n in names)
        what = "segment" if len(names) == 1 else "segments"
        super().__init__(
            f"This chart compares the {what} {quoted}, which no longer exist{'s' if len(names) == 1 else ''}"
            " in this project. Choose other segments in the editor, or recreate it."
        )
