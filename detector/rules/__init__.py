"""Rules by name, and the rule type and object kinds each violation kind uses by default.

Object kinds are those of the model cards (`models/*.yaml`); adding a rule type is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from detector.rules.base import FrameView, Rule, RuleHit
from detector.rules.dwell import DwellRule
from detector.violation import ViolationKind

RULES: dict[str, Callable[..., Rule]] = {"dwell": DwellRule}


@dataclass(frozen=True, slots=True)
class KindDefaults:
    """How a violation kind is usually detected (the taxonomy table of DESIGN.md)."""

    rule: str
    object_kinds: frozenset[str]
    dwell_s: float


_VENDING_PROXIES = frozenset({"stall", "vendor_cart", "umbrella", "table", "chair"})
_STORE_PROXIES = frozenset({"goods", "rack", "chair", "table", "potted_plant", "bench"})
_PILE_KINDS = frozenset({"materials", "garbage_pile", "cartons", "luggage"})

KIND_DEFAULTS: dict[ViolationKind, KindDefaults] = {
    ViolationKind.NON_MOTOR_PARKING: KindDefaults("dwell", frozenset({"non_motor_vehicle"}), 180.0),
    ViolationKind.MOTOR_PARKING: KindDefaults("dwell", frozenset({"motor_vehicle"}), 300.0),
    ViolationKind.STREET_VENDING: KindDefaults("dwell", _VENDING_PROXIES, 300.0),
    ViolationKind.OUT_OF_STORE: KindDefaults("dwell", _STORE_PROXIES, 600.0),
    ViolationKind.PILING: KindDefaults("dwell", _PILE_KINDS, 900.0),
}

__all__ = ["KIND_DEFAULTS", "RULES", "DwellRule", "FrameView", "KindDefaults", "Rule", "RuleHit"]
