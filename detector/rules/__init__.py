"""Rule types by name: which violation kind uses which is configuration (configs/taxonomy.yaml).

Each rule type is one module declaring its parameters (a pydantic model whose `type` names it)
and its rule (a `RuleBase` over those parameters), and one line in `RULE_TYPES`; configs builds
its validation of the taxonomy and site rules from this table.

base.py — FrameView, RuleHit and the Rule protocol; RuleBase and the parameters rule types share.
dwell.py — one object standing still in a zone for long enough.
cluster.py — several kinds of object together in a zone for long enough.
persistence.py — a static thing present in enough of the last looks.
count.py — too many objects of a kind in a zone for long enough.
standing.py — which detections stand still, and for how long; the same object found again after a gap.
look.py — how an object looks, and whether an object found again is the same one.
episode.py — frame time, and a condition that must hold for long enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detector.rules.base import FrameView, Rule, RuleBase, RuleHit, RuleParameters
from detector.rules.cluster import ClusterGroup, ClusterParameters, ClusterRule
from detector.rules.count import CountParameters, CountRule
from detector.rules.dwell import DwellParameters, DwellRule
from detector.rules.persistence import PersistenceParameters, PersistenceRule


@dataclass(frozen=True, slots=True)
class RuleType:
    """A rule type: the model of its parameters and the rule built from them."""

    parameters: type[RuleParameters]
    rule: type[RuleBase[Any]]

    @property
    def name(self) -> str:
        """The type's name, as its parameters' `type` gives it."""
        return str(self.parameters.model_fields["type"].default)

    def parameter_names(self) -> frozenset[str]:
        return frozenset(self.parameters.model_fields) - {"type"}


RULE_TYPES: dict[str, RuleType] = {rule_type.name: rule_type for rule_type in (
    RuleType(DwellParameters, DwellRule),
    RuleType(ClusterParameters, ClusterRule),
    RuleType(PersistenceParameters, PersistenceRule),
    RuleType(CountParameters, CountRule),
)}


def new_rule(kind: str, zone_tags: frozenset[str], params: RuleParameters, max_frame_gap_s: float) -> Rule:
    """A fresh (stateful) rule of `params`' type for violation `kind` in zones tagged `zone_tags`.

    >>> new_rule("crowding", frozenset({"square"}), CountParameters(objects=("person",), min_count=15, dwell_s=120),
    ...            max_frame_gap_s=10).params.lost_tolerance_s
    30.0
    """
    return RULE_TYPES[params.type].rule(kind, zone_tags, params, max_frame_gap_s)


__all__ = ["RULE_TYPES", "ClusterGroup", "ClusterParameters", "ClusterRule", "CountParameters", "CountRule",
           "DwellParameters", "DwellRule", "FrameView", "PersistenceParameters", "PersistenceRule", "Rule",
           "RuleBase", "RuleHit", "RuleParameters", "RuleType", "new_rule"]
