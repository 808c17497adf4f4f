"""What a chart shows (:class:`ChartSpec`): a frozen value with a versioned JSON form.

A :class:`ChartSpec` holds the chart kind, the segments compared (by name, so a
renamed or edited segment is followed; a deleted one is reported), the unit, the
reporting range, the interval and the kind's own options. Its JSON form is versioned
(``"version": 1``) and is what the ``charts`` table stores in ``options``;
:func:`spec_from_json` refuses a newer version with a clear message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

from seglab.core.charts.errors import ChartError
from seglab.core.charts.registry import KINDS, REGISTRY

if TYPE_CHECKING:
    from seglab.core.analyses.common import Interval

SPEC_VERSION = 1
UNITS = ("user", "account")
INTERVALS = ("day", "week", "month")
EVERYONE_LABEL = "everyone"
RANGE_PRESETS = (7, 30, 90, 180, 365)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw_options(items: tuple) -> dict[str, Any]:
    return {k: _thaw(v) for k, v in items}


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        if value and all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in value):
            # a frozen dict (only step dicts and filters are dicts inside options)
            if all(k in {"event", "where", "property", "op", "value"} for k, _ in value):
                return {k: _thaw(v) for k, v in value}
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class ChartSpec:
    """What a chart shows. Immutable: an edit makes a new spec (:meth:`with_options`, ``replace``).

    ``segments`` are saved-segment names; empty means everyone at ``unit`` level.
    ``vs_rest`` compares the one segment with its complement ("not X").
    The range is either the ``last_days`` up to as-of, or ``date_from``..``date_to``
    (ISO dates, inclusive; either may be None: the default of the analysis).
    ``options`` holds the kind's own options as sorted ``(key, value)`` pairs; read
    them with :meth:`option` or :attr:`options_dict`.
    """

    kind: str = "trend"
    segments: tuple[str, ...] = ()
    vs_rest: bool = False
    unit: str = "user"
    interval: Interval = "week"  # checked in __post_init__ (a spec read from JSON may say anything)
    last_days: int | None = 90
    date_from: str | None = None
    date_to: str | None = None
    as_of: str | None = None  # ISO date-time; None: the project's as-of
    options: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ChartError(f"unknown chart kind {self.kind!r} (one of {', '.join(KINDS)})")
        if self.unit not in UNITS:
            raise ChartError(f"unit must be user or account, not {self.unit!r}")
        if self.interval not in INTERVALS:
            raise ChartError(f"interval must be day, week or month, not {self.interval!r}")
        merged = dict(KINDS[self.kind][1])
        merged.update(_thaw_options(tuple(self.options)))
        object.__setattr__(self, "options", tuple(sorted((k, _freeze(v)) for k, v in merged.items())))
        object.__setattr__(self, "segments", tuple(self.segments))

    @property
    def title(self) -> str:
        return KINDS[self.kind][0]

    @property
    def options_dict(self) -> dict[str, Any]:
        return _thaw_options(self.options)

    def option(self, key: str, default: Any = None) -> Any:
        return self.options_dict.get(key, default)

    def with_options(self, **changes: Any) -> ChartSpec:
        merged = self.options_dict
        merged.update(changes)
        return replace(self, options=tuple(merged.items()))

    def with_kind(self, kind: str) -> ChartSpec:
        """The same segments, unit, range and interval shown as another kind (its default options)."""
        return replace(self, kind=kind, options=())

    # -- JSON -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SPEC_VERSION,
            "kind": self.kind,
            "segments": list(self.segments),
            "vs_rest": self.vs_rest,
            "unit": self.unit,
            "interval": self.interval,
            "range": (
                {"last_days": self.last_days}
                if self.last_days is not None
                else {"from": self.date_from, "to": self.date_to}
            ),
            "as_of": self.as_of,
            "options": self.options_dict,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def spec_from_json(data: str | dict) -> ChartSpec:
    """A spec from its JSON form (any version this SegLab knows)."""
    try:
        obj = json.loads(data) if isinstance(data, str) else dict(data)
    except json.JSONDecodeError as exc:
        raise ChartError(f"the saved chart is not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise ChartError("the saved chart is not a JSON object")
    version = obj.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise ChartError(f"the saved chart has an invalid version {version!r}")
    if version > SPEC_VERSION:
        raise ChartError(
            f"this chart was saved by a newer SegLab (chart format {version}; this SegLab reads up to "
            f"{SPEC_VERSION}); update SegLab to open it"
        )
    rng = obj.get("range") or {}
    options = obj.get("options") or {}
    if not isinstance(options, dict):
        raise ChartError("the saved chart's options are not an object")
    segments = obj.get("segments") or []
    if not isinstance(segments, list) or not all(isinstance(s, str) for s in segments):
        raise ChartError("the saved chart's segments are not a list of names")
    try:
        return ChartSpec(
            kind=str(obj.get("kind", "trend")),
            segments=tuple(segments),
            vs_rest=bool(obj.get("vs_rest", False)),
            unit=str(obj.get("unit", "user")),
            interval=cast("Interval", str(obj.get("interval", "week"))),  # checked by ChartSpec
            last_days=rng.get("last_days") if "last_days" in rng else None,
            date_from=rng.get("from"),
            date_to=rng.get("to"),
            as_of=obj.get("as_of"),
            options=tuple(options.items()),
        )
    except TypeError as exc:
        raise ChartError(f"the saved chart is malformed ({exc})") from None


def describe_spec(spec: ChartSpec) -> str:
    """One line saying what a chart shows, for its subtitle and exported pictures.

    >>> describe_spec(ChartSpec(segments=("Pro",), vs_rest=True).with_options(event="purchase"))
    'Unique users doing purchase per week · Pro vs the rest · last 90 days'
    """
    o = spec.options_dict
    kind = REGISTRY[spec.kind]
    what = kind.describe(spec, o)
    unit = "users" if spec.unit == "user" else "accounts"
    if not spec.segments:
        who = f"everyone ({unit})"
    elif spec.vs_rest and len(spec.segments) == 1:
        who = f"{spec.segments[0]} vs the rest"
    else:
        who = ", ".join(spec.segments)
    if o.get("by") and kind.breakdown:
        what += f" by {o['by']}"
    if spec.last_days is not None:
        span = f"last {spec.last_days} days"
    else:
        span = f"{spec.date_from or '…'} to {spec.date_to or 'as-of'}"
    return " · ".join((what, who, span))
