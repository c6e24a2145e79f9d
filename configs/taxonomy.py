"""The taxonomy of violation kinds (configs/taxonomy.yaml) and how a site's rule resolves against it.

A kind names its rule type and default parameters; a site rule picks zones and may override any
parameter that applies to that type. Everything here is data: a new kind is configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from configs.strict import Strict

DEFAULT_TAXONOMY = Path(__file__).resolve().parent / "taxonomy.yaml"

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
ObjectKind = Annotated[str, Field(min_length=1, max_length=64)]
Positive = Annotated[float, Field(gt=0)]
RuleType = Literal["dwell", "cluster", "persistence", "count"]
Severity = Literal["low", "medium", "high"]


class GroupSpec(Strict):
    """One group of a cluster rule (see detector.rules.ClusterGroup)."""

    objects: list[ObjectKind] = Field(min_length=1)
    min_count: int = Field(1, ge=1, le=1000)
    stationary: bool = True


class RuleParams(Strict):
    """A rule's type and parameters; every field optional, so it serves as a kind's defaults and
    as a site rule's overrides alike. Which fields apply to which type: `PARAMETERS`."""

    type: RuleType | None = None
    objects: list[ObjectKind] | None = Field(None, min_length=1, description="object kinds the rule looks at")
    groups: list[GroupSpec] | None = Field(None, min_length=1, description="cluster: kinds that must be together")
    dwell_s: float | None = Field(None, gt=0, le=7 * 86400, description="how long it must last")
    settle_s: float | None = Field(None, ge=0, le=86400, description="cluster: standing this long counts as stationary")
    min_confidence: float | None = Field(None, ge=0, le=1)
    max_displacement: float | None = Field(None, gt=0, le=5, description="stationary: moved < this x box size")
    lost_tolerance_s: float | None = Field(None, ge=0, le=86400, description="unseen / lapsed this long is tolerated")
    check_every_s: float | None = Field(None, gt=0, le=86400, description="persistence: one look this often")
    checks: int | None = Field(None, ge=1, le=1000, description="persistence: looks remembered")
    min_present: int | None = Field(None, ge=1, le=1000, description="persistence: looks that must find it")
    min_count: int | None = Field(None, ge=1, le=10_000, description="count: objects at least")


# Which parameters each rule type takes, and which of them it must have.
PARAMETERS: dict[str, frozenset[str]] = {
    "dwell": frozenset({"objects", "dwell_s", "min_confidence", "max_displacement", "lost_tolerance_s"}),
    "cluster": frozenset({"groups", "dwell_s", "settle_s", "min_confidence", "max_displacement", "lost_tolerance_s"}),
    "persistence": frozenset({"objects", "check_every_s", "checks", "min_present", "min_confidence"}),
    "count": frozenset({"objects", "min_count", "dwell_s", "min_confidence", "lost_tolerance_s"}),
}
REQUIRED: dict[str, frozenset[str]] = {
    "dwell": frozenset({"objects", "dwell_s"}),
    "cluster": frozenset({"groups", "dwell_s"}),
    "persistence": frozenset({"objects", "check_every_s", "checks", "min_present"}),
    "count": frozenset({"objects", "min_count", "dwell_s"}),
}
PARAMETER_NAMES = frozenset(RuleParams.model_fields) - {"type"}


class KindSpec(Strict):
    label_zh: str = Field(min_length=1, max_length=64)
    description: str = ""
    severity: Severity = "medium"
    accept_within_min: float = Field(gt=0, le=7 * 1440)
    resolve_within_min: float = Field(gt=0, le=365 * 1440)
    rule: RuleParams


class KindOverride(Strict):
    """A site's change to a kind of the taxonomy, or a whole new kind (then every field is needed)."""

    label_zh: str | None = Field(None, min_length=1, max_length=64)
    description: str | None = None
    severity: Severity | None = None
    accept_within_min: float | None = Field(None, gt=0, le=7 * 1440)
    resolve_within_min: float | None = Field(None, gt=0, le=365 * 1440)
    rule: RuleParams | None = None


class ObjectFilterSpec(Strict):
    min_confidence: float = Field(0.0, ge=0, le=1)
    min_area: float = Field(0.0, ge=0, le=1, description="box area in fractions of the frame")


class TaxonomyFile(Strict):
    kinds: dict[Code, KindSpec] = Field(min_length=1)
    object_filters: dict[ObjectKind, ObjectFilterSpec] = Field(default_factory=dict)


def merge_kind(base: KindSpec | None, override: KindOverride) -> dict[str, Any]:
    """The fields of a kind with a site's override applied (the rule's parameters one by one)."""
    merged = base.model_dump(exclude_unset=False) if base is not None else {}
    changes = override.model_dump(exclude_none=True, exclude={"rule"})
    merged.update(changes)
    if override.rule is not None:
        rule = dict(merged.get("rule") or {})
        rule.update(override.rule.model_dump(exclude_none=True))
        merged["rule"] = rule
    return merged


@dataclass(frozen=True, slots=True)
class ResolvedRule:
    """A site rule with its kind's defaults filled in: the type and the parameters to build it."""

    type: str
    params: dict[str, Any]

    def object_kinds(self) -> list[str]:
        """Every object kind the rule looks at (a cluster's groups together)."""
        if self.type == "cluster":
            return sorted({kind for group in self.params["groups"] for kind in group["objects"]})
        return list(self.params["objects"])


def resolve_rule(kind: KindSpec, overrides: RuleParams) -> tuple[ResolvedRule | None, list[tuple[str, str]]]:
    """The kind's rule with the site's overrides, or None and (field, problem) pairs.

    A site may change the type (then the kind's parameters that do not apply are dropped) and any
    parameter of the resulting type; naming a parameter the type does not take is a problem.
    """
    own = {name: value for name, value in overrides.model_dump(exclude_none=True).items()
           if name in RuleParams.model_fields}  # a site rule also carries its kind, zones and limits
    rule_type = own.pop("type", None) or kind.rule.type
    if rule_type is None:
        return None, [("kind", "the kind's rule names no type")]
    accepted = PARAMETERS[rule_type]
    problems = [(name, f"does not apply to a {rule_type} rule (it takes {', '.join(sorted(accepted))})")
                for name in own if name not in accepted]
    params = {name: value for name, value in kind.rule.model_dump(exclude_none=True).items() if name in accepted}
    params.update({name: value for name, value in own.items() if name in accepted})
    problems += [(name, f"a {rule_type} rule needs it (the kind gives none)")
                 for name in sorted(REQUIRED[rule_type] - params.keys())]
    if rule_type == "persistence" and {"checks", "min_present"} <= params.keys() \
            and params["min_present"] > params["checks"]:
        problems.append(("min_present", f"cannot exceed checks ({params['checks']})"))
    return (None if problems else ResolvedRule(rule_type, params)), problems
