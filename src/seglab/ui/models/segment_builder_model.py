"""The builder's state: one draft segment (a name and a JSON definition), as an immutable value.

The draft is a plain dict in the segment format (docs/segments.md)
that is **never mutated**: an edit builds a new dict (copy on write along the edited
path) and goes through :meth:`SegmentBuilderModel.edit`, which pushes a labelled
:class:`EditDraftCommand` on the window's QUndoStack. Views
listen to :attr:`SegmentBuilderModel.draft_changed` and never keep conditions of their
own (no reading conditions back out of widgets).

Paths address places in the draft as tuples of keys and indices, e.g.
``("conditions", 2, "where", 0)`` is ``definition["conditions"][2]["where"][0]``; the
core reports problems with the same paths written as ``conditions[2].where[0]``.

Undo: each edit stores the draft before and after (immutable values), so undo and redo are
just "show that value". Consecutive edits of the same text field merge into one command
(typing "enterprise" is one undo step). A command belongs to the document it was made in:
after another segment is opened, its undo/redo does nothing and it removes itself from the
stack (``setObsolete``), so undo never writes one segment's conditions into another.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from seglab.core.profiles import BuilderCatalogue

Path = tuple[Any, ...]

_document_ids = itertools.count(1)


def empty_definition(level: str = "user") -> dict:
    return {"version": 1, "level": level, "match": "all", "conditions": []}


def canonical(definition: dict) -> str:
    """Stable text of a definition (for "unsaved changes" checks)."""
    return json.dumps(definition, sort_keys=True, ensure_ascii=False)


# -- paths over plain JSON values ------------------------------------------------------------


def get_in(value: Any, path: Path) -> Any:
    for key in path:
        value = value[key]
    return value


def set_in(value: Any, path: Path, new: Any) -> Any:
    """A copy of ``value`` with ``path`` set to ``new`` (only the containers on the path are copied)."""
    if not path:
        return new
    key, rest = path[0], path[1:]
    if isinstance(value, list):
        out = list(value)
        out[key] = set_in(value[key], rest, new)
        return out
    out = dict(value)
    out[key] = set_in(value[key], rest, new) if rest else new
    return out


def update_in(value: Any, path: Path, /, **changes: Any) -> Any:
    """A copy with the dict at ``path`` updated; a change to ``None`` removes the key."""
    target = dict(get_in(value, path))
    for k, v in changes.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = v
    return set_in(value, path, target)


def path_text(path: Path) -> str:
    """``("conditions", 2, "where", 0)`` -> ``"conditions[2].where[0]"`` (the core's notation)."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def parse_path(text: str) -> Path:
    out: list[Any] = []
    for part in text.replace("]", "").split("."):
        if not part:
            continue
        name, *indices = part.split("[")
        if name:
            out.append(name)
        out.extend(int(i) for i in indices if i.isdigit())
    return tuple(out)


# -- default conditions ----------------------------------------------------------------------


CONDITION_LABELS = {
    "property": "Property",
    "behavior": "Did an event",
    "first_seen": "First seen",
    "last_seen": "Last seen",
    "sequence": "Did events in order",
    "segment": "In a saved segment",
    "list": "On a list of ids",
    "users": "Users of the account",
    "group": "Group of conditions",
}


def new_condition(kind: str, level: str, *, event: str = "*", segment: str = "") -> dict:
    """A fresh condition of ``kind`` for a definition of ``level`` (may be incomplete on purpose)."""
    if kind == "property":
        return {"type": "property", "entity": level, "property": "", "op": "eq", "value": ""}
    if kind == "behavior":
        return {
            "type": "behavior",
            "event": event,
            "where": [],
            "measure": {"fn": "count"},
            "compare": {"op": "gte", "value": 1},
            "window": {"last_days": 30},
        }
    if kind in ("first_seen", "last_seen"):
        return {"type": kind, "event": "*", "window": {"last_days": 30}}
    if kind == "sequence":
        return {
            "type": "sequence",
            "steps": [{"event": event}, {"event": event}],
            "within_days": 7,
            "window": {"last_days": 90},
        }
    if kind == "segment":
        return {"type": "segment", "segment": segment}
    if kind == "list":
        return {"type": "list", "ids": []}
    if kind == "users":
        return {"type": "users", "compare": {"op": "gte", "value": 1}, "match": empty_definition("user")}
    if kind == "group":
        return {"type": "group", "match": "any", "conditions": []}
    raise ValueError(f"unknown condition type {kind!r}")


def new_filter() -> dict:
    return {"property": "", "op": "eq", "value": ""}


# -- the draft ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """What the builder edits: the name in the title and the definition (never mutated)."""

    name: str
    definition: dict
    document: int  # which opened segment this draft belongs to (undo across documents is dropped)


class SegmentBuilderModel(QObject):
    """One draft segment with undoable edits.

    Signals
    -------
    draft_changed(object)
        The draft (name or definition) changed: the new :class:`Draft`.
    document_changed()
        Another segment was opened (or a new one started).
    dirty_changed(bool)
        The draft started or stopped differing from what is saved.
    """

    draft_changed = Signal(object)
    document_changed = Signal()
    dirty_changed = Signal(bool)

    def __init__(self, undo_stack, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = undo_stack
        self._draft = Draft("", empty_definition(), next(_document_ids))
        self._saved_name: str | None = None  # the name it is saved under (None: never saved)
        self._saved_text: str | None = None
        self._dirty = False

    # -- reading -------------------------------------------------------------
    @property
    def draft(self) -> Draft:
        return self._draft

    @property
    def definition(self) -> dict:
        return self._draft.definition

    @property
    def name(self) -> str:
        return self._draft.name

    @property
    def level(self) -> str:
        return self._draft.definition.get("level", "user")

    @property
    def saved_name(self) -> str | None:
        return self._saved_name

    @property
    def document(self) -> int:
        return self._draft.document

    def is_dirty(self) -> bool:
        return self._dirty

    def get(self, path: Path) -> Any:
        return get_in(self._draft.definition, path)

    def level_at(self, path: Path) -> str:
        """The level a condition list at ``path`` is evaluated at (user inside a 'users' condition)."""
        level = self.level
        for i, key in enumerate(path):
            if key == "match" and i > 0 and isinstance(get_in(self.definition, path[:i]), dict):
                node = get_in(self.definition, path[:i])
                if node.get("type") == "users":
                    level = "user"
        return level

    # -- documents (not undoable: opening is navigation, not an edit) -----------
    def open_document(self, name: str | None, definition: dict) -> None:
        """Start editing ``definition``, saved as ``name`` (None for a new, unsaved segment)."""
        definition = copy.deepcopy(definition)
        self._saved_name = name
        self._saved_text = canonical(definition) if name is not None else None
        self._draft = Draft(name or "", definition, next(_document_ids))
        self.document_changed.emit()
        self.draft_changed.emit(self._draft)
        self._update_dirty()

    def mark_saved(self, name: str) -> None:
        self._saved_name = name
        self._saved_text = canonical(self._draft.definition)
        if self._draft.name != name:
            self._draft = Draft(name, self._draft.definition, self._draft.document)
            self.draft_changed.emit(self._draft)
        self._update_dirty()

    def forget_saved(self) -> None:
        """The saved segment was deleted or renamed away: the draft is now unsaved."""
        self._saved_name = None
        self._saved_text = None
        self._update_dirty()

    def note_renamed(self, old: str, new: str) -> None:
        """The library renamed the saved segment this draft is (so the title follows)."""
        if self._saved_name == old:
            self._saved_name = new
            if self._draft.name == old:
                self._draft = Draft(new, self._draft.definition, self._draft.document)
                self.draft_changed.emit(self._draft)
            self._update_dirty()

    # -- edits (undoable) --------------------------------------------------------
    def edit(self, definition: dict, label: str, *, merge_key: Any = None) -> None:
        """Replace the definition through an undoable command labelled ``label``."""
        self._push(Draft(self._draft.name, definition, self._draft.document), label, merge_key)

    def set_name(self, name: str) -> None:
        if name != self._draft.name:
            self._push(Draft(name, self._draft.definition, self._draft.document), "Change name", "name")

    def set_at(self, path: Path, value: Any, label: str, *, merge_key: Any = None) -> None:
        self.edit(set_in(self.definition, path, value), label, merge_key=merge_key)

    def update_at(self, path: Path, label: str, /, *, merge_key: Any = None, **changes: Any) -> None:
        self.edit(update_in(self.definition, path, **changes), label, merge_key=merge_key)

    def get_list(self, list_path: Path) -> list:
        """The list at ``list_path``; an optional list that is absent (``where``) reads as empty."""
        try:
            return list(self.get(list_path))
        except (KeyError, IndexError, TypeError):
            return []

    def insert_at(self, list_path: Path, index: int, item: Any, label: str) -> None:
        items = self.get_list(list_path)
        items.insert(index, item)
        self.set_at(list_path, items, label)

    def append_at(self, list_path: Path, item: Any, label: str) -> None:
        self.insert_at(list_path, len(self.get_list(list_path)), item, label)

    def remove_at(self, list_path: Path, index: int, label: str) -> None:
        items = list(self.get(list_path))
        del items[index]
        self.set_at(list_path, items, label)

    def move_at(self, list_path: Path, index: int, delta: int, label: str) -> None:
        items = list(self.get(list_path))
        target = index + delta
        if not 0 <= target < len(items):
            return
        items[index], items[target] = items[target], items[index]
        self.set_at(list_path, items, label)

    def move_to(self, list_path: Path, index: int, target: int, label: str) -> None:
        """Move item ``index`` so that it ends up at position ``target`` (drag and drop)."""
        items = list(self.get(list_path))
        if not (0 <= index < len(items)) or target == index:
            return
        item = items.pop(index)
        items.insert(max(0, min(target, len(items))), item)
        self.set_at(list_path, items, label)

    def _push(self, after: Draft, label: str, merge_key: Any) -> None:
        if after == self._draft:
            return
        self.undo_stack.push(EditDraftCommand(self, self._draft, after, label, merge_key))

    # -- called by the commands only ------------------------------------------------
    def apply_draft(self, draft: Draft) -> bool:
        """Show ``draft``; False (and nothing changes) when it belongs to another document."""
        if draft.document != self._draft.document:
            return False
        self._draft = draft
        self.draft_changed.emit(draft)
        self._update_dirty()
        return True

    def _update_dirty(self) -> None:
        if self._saved_text is None:
            dirty = bool(self._draft.definition.get("conditions")) or bool(self._draft.name)
        else:
            dirty = (
                canonical(self._draft.definition) != self._saved_text or self._draft.name != self._saved_name
            )
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)


EDIT_DRAFT_ID = 0x5E6_0001


class EditDraftCommand(QUndoCommand):
    """One edit of the builder's draft (name or definition)."""

    def __init__(self, model: SegmentBuilderModel, before: Draft, after: Draft, label: str, merge_key: Any):
        super().__init__(label)
        self.model = model
        self.before = before
        self.after = after
        self.merge_key = merge_key

    def id(self) -> int:
        return EDIT_DRAFT_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditDraftCommand) or other.model is not self.model:
            return False
        if other.merge_key != self.merge_key or other.before.document != self.after.document:
            return False
        if other.before != self.after:
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        if not self.model.apply_draft(self.after):
            self.setObsolete(True)

    def undo(self) -> None:
        if not self.model.apply_draft(self.before):
            self.setObsolete(True)


class BuilderContext(Protocol):
    """What the condition rows (``seglab.ui.widgets.segment_rows``) use of the builder widget
    that holds them, so that the rows need not import it."""

    model: SegmentBuilderModel
    catalogue: BuilderCatalogue
    saved_segments: list[tuple[str, str]]  # (name, level), for "in segment" conditions
