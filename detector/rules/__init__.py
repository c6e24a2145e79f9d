"""Rule types by name: which violation kind uses which is configuration (configs/taxonomy.yaml).

Adding a rule type is one module and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable

from detector.rules.base import FrameView, Rule, RuleHit
from detector.rules.cluster import ClusterGroup, ClusterRule
from detector.rules.count import CountRule
from detector.rules.dwell import DwellRule
from detector.rules.persistence import PersistenceRule

RULES: dict[str, Callable[..., Rule]] = {
    "dwell": DwellRule,
    "cluster": ClusterRule,
    "persistence": PersistenceRule,
    "count": CountRule,
}

__all__ = ["RULES", "ClusterGroup", "ClusterRule", "CountRule", "DwellRule", "FrameView", "PersistenceRule", "Rule",
           "RuleHit"]
