"""The taxonomy of violation kinds (configs/taxonomy.yaml) and how a site's rule resolves against it.

A kind names its rule type and default parameters; a site rule picks zones and may override any
parameter that applies to that type. Everything here is data: a new kind is configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, Union

from pydantic import BaseModel, Field, PlainValidator, TypeAdapter, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from configs.strict import Strict
from detector.rules import RULE_TYPES, RuleParameters
from detector.rules.base import ObjectKind as ObjectKind

DEFAULT_TAXONOMY = Path(__file__).resolve().parent / "taxonomy.yaml"

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
Severity = Literal["low", "medium", "high"]

# The rule types' parameters, told apart by `type`: what a resolved rule is.
RULE_PARAMETERS: TypeAdapter[RuleParameters] = TypeAdapter(Annotated[  # type: ignore[arg-type]  # built from the table
    Union[tuple(rule_type.parameters for rule_type in RULE_TYPES.values())],  # noqa: UP007
    Field(discriminator="type")])


def overrides_model() -> type[BaseModel]:
    """Every parameter of every rule type, each optional but valid when given (never null): what
    a kind's defaults and a site's changes may hold before `resolve_rule` knows the type. A name
    several types take has one meaning (a shared base model declares it)."""
    fields: dict[str, Any] = {"type": (Literal[tuple(RULE_TYPES)], None)}
    for rule_type in RULE_TYPES.values():
        for name, info in rule_type.parameters.model_fields.items():
            fields.setdefault(name, (info.annotation, FieldInfo.merge_field_infos(info, default=None)))
    return create_model("RuleParameterOverrides", __base__=Strict, **fields)


RULE_OVERRIDES = overrides_model()
PARAMETER_NAMES = frozenset(RULE_OVERRIDES.model_fields) - {"type"}


def given_parameters(value: Any) -> dict[str, Any]:
    """The rule parameters given in `value`, each checked against its field (ValidationError names it)."""
    return RULE_OVERRIDES.model_validate(value).model_dump(exclude_unset=True)


# A rule's type and parameters as far as given: a kind's defaults, a site's changes.
RuleOverrides = Annotated[dict[str, Any], PlainValidator(given_parameters)]


class KindSpec(Strict):
    label_zh: str = Field(min_length=1, max_length=64)
    description: str = ""
    severity: Severity = "medium"
    accept_within_min: float = Field(gt=0, le=7 * 1440)
    resolve_within_min: float = Field(gt=0, le=365 * 1440)
    rule: RuleOverrides


class KindOverride(Strict):
    """A site's change to a kind of the taxonomy, or a whole new kind (then every field is needed)."""

    label_zh: str | None = Field(None, min_length=1, max_length=64)
    description: str | None = None
    severity: Severity | None = None
    accept_within_min: float | None = Field(None, gt=0, le=7 * 1440)
    resolve_within_min: float | None = Field(None, gt=0, le=365 * 1440)
    rule: RuleOverrides | None = None


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
        rule.update(override.rule)
        merged["rule"] = rule
    return merged


@dataclass(frozen=True, slots=True)
class ResolvedRule:
    """A site rule with its kind's defaults filled in: the parameters to build it with."""

    parameters: RuleParameters

    @property
    def type(self) -> str:
        return self.parameters.type

    @property
    def params(self) -> dict[str, Any]:
        """The parameters the kind or the site gives (the type's defaults aside)."""
        return self.parameters.model_dump(exclude_unset=True, exclude={"type"})

    def object_kinds(self) -> list[str]:
        """Every object kind the rule looks at."""
        return self.parameters.object_kinds()


class SiteRule(Protocol):
    """What resolution needs of a site rule (configs.schema.RuleConfig)."""

    @property
    def parameters(self) -> Mapping[str, Any]:
        """The rule's type and parameters the site gives (`given_parameters`)."""
        ...


@dataclass(frozen=True, slots=True)
class RuleChanges:
    """A site rule's parameters alone (`given_parameters`): for checks run where its other fields may be broken."""

    parameters: Mapping[str, Any]


def resolve_rule(kind: KindSpec, site_rule: SiteRule) -> tuple[ResolvedRule | None, list[tuple[str, str]]]:
    """The kind's rule with the site rule's parameters, or None and (field, problem) pairs.

    A site may change the type (then the kind's parameters that do not apply are dropped) and any
    parameter of the resulting type; naming a parameter the type does not take is a problem.
    """
    own = dict(site_rule.parameters)
    rule_type = own.pop("type", None) or kind.rule.get("type")
    if rule_type is None:
        return None, [("kind", "the kind's rule names no type")]
    accepted = RULE_TYPES[rule_type].parameter_names()
    problems = [(name, f"does not apply to a {rule_type} rule (it takes {', '.join(sorted(accepted))})")
                for name in own if name not in accepted]
    params = {name: value for name, value in (kind.rule | own).items() if name in accepted}
    try:
        parameters = RULE_PARAMETERS.validate_python({"type": rule_type, **params})
    except ValidationError as exc:
        return None, problems + [parameter_problem(rule_type, error) for error in exc.errors()]
    return (None if problems else ResolvedRule(parameters)), problems


def parameter_problem(rule_type: str, error: ErrorDetails) -> tuple[str, str]:
    """(field, problem) for an error of the parameters' model: each value was valid alone, so it
    is one the kind does not give, or values that do not fit together."""
    name = str(error["loc"][1]) if len(error["loc"]) > 1 else "kind"
    if error["type"] == "missing":
        return name, f"a {rule_type} rule needs it (the kind gives none)"
    return name, str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
