"""Which traits the worksheet shows under "What distinguishes it".

The numbers and the ranking are the analyses' (:func:`seglab.core.analyses.run_distinguish`:
share of the segment vs share of the rest for property values and events, means for
numeric properties, ranked by effect size, with a p-value). The worksheet keeps the
traits that are clearly *more* common in the segment, so the list reads as a
portrait of the segment rather than a table of statistics:

* a property value or an event: at least :data:`MIN_SHARE` of the segment has it, it
  is :data:`MIN_DIFFERENCE` (percentage points) and :data:`MIN_LIFT` times more common
  than in the rest, and the difference is significant (``p <`` :data:`MAX_P`);
* a numeric property: its mean differs with an effect size (Cohen's d) of at least
  :data:`MIN_EFFECT_D` and ``p <`` :data:`MAX_P`, higher or lower.

At most ``per_kind`` property traits and ``per_kind`` event traits are kept, in the
analyses' order (largest effect first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_SHARE = 0.05
MIN_DIFFERENCE = 0.02
MIN_LIFT = 1.1
MIN_EFFECT_D = 0.2
MAX_P = 0.05


@dataclass(frozen=True)
class Trait:
    kind: str  # 'property' | 'numeric' | 'event'
    label: str
    segment_value: float  # a share 0..1, or a mean for 'numeric'
    rest_value: float
    p_value: float | None = None

    @property
    def is_share(self) -> bool:
        return self.kind != "numeric"

    @property
    def lift(self) -> float | None:
        """How many times more common (or larger) in the segment; None when the rest has none
        (or, for a numeric property, when a ratio of means has no meaning)."""
        if self.kind == "numeric" and (self.rest_value <= 0 or self.segment_value < 0):
            return None
        return self.segment_value / self.rest_value if self.rest_value else None


def _number(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def keep(trait: Trait, effect: float | None) -> bool:
    p = trait.p_value
    significant = p is not None and p < MAX_P
    if trait.kind == "numeric":
        return significant and effect is not None and abs(effect) >= MIN_EFFECT_D
    lift = trait.lift
    return (
        significant
        and trait.segment_value >= MIN_SHARE
        and trait.segment_value - trait.rest_value >= MIN_DIFFERENCE
        and (lift is None or lift >= MIN_LIFT)
    )


def traits_from_frame(frame, per_kind: int) -> list[Trait]:
    """The traits to show, from a ``run_distinguish`` DataFrame (columns DISTINGUISH_COLUMNS)."""
    props: list[Trait] = []
    events: list[Trait] = []
    for row in frame.itertuples(index=False):
        kind = str(row.kind)
        seg_v, rest_v = _number(row.segment_value), _number(row.rest_value)
        if seg_v is None or rest_v is None:
            continue
        if kind == "event":
            label = f"did {row.name}"
        elif kind == "numeric":
            label = f"average {row.name}"
        else:
            label = f"{row.name} = {row.value}"
        trait = Trait(kind, label, seg_v, rest_v, _number(row.p_value))
        if not keep(trait, _number(row.effect_size)):
            continue
        target = events if kind == "event" else props
        if len(target) < per_kind:
            target.append(trait)
    return props + events
