"""The taxonomy: the shipped kinds, kinds a site adds or changes, and every mistake named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aibrain import assemble
from configs.load import ConfigError, load_site
from configs.taxonomy import DEFAULT_TAXONOMY, RULE_PARAMETERS, TaxonomyFile
from detector.rules import RULE_TYPES, ClusterRule, DwellRule, PersistenceRule
from tests.configs.test_load_site import good_site, write_site

SIX_CHAOS_ONE_EXCESS = {"street_vending": "乱摆卖", "piling": "乱堆放", "posting": "乱张贴",
                        "illegal_structure": "乱搭建", "non_motor_parking": "非机动车乱停放",
                        "motor_parking": "机动车乱停放", "hanging": "乱拉挂", "out_of_store": "超门店经营"}
FIRE_LANE = {"label_zh": "占用消防通道", "severity": "high", "accept_within_min": 5, "resolve_within_min": 20,
             "rule": {"type": "dwell", "objects": ["motor_vehicle"], "dwell_s": 60}}


def shipped() -> TaxonomyFile:
    return TaxonomyFile.model_validate(yaml.safe_load(DEFAULT_TAXONOMY.read_text(encoding="utf-8")))


def problems_of(tmp_path: Path, site: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        load_site(write_site(tmp_path, site))
    return {problem.field: problem.message for problem in caught.value.problems}


def test_the_shipped_taxonomy_holds_six_chaos_one_excess_and_related_kinds() -> None:
    kinds = shipped().kinds
    assert {code: kinds[code].label_zh for code in SIX_CHAOS_ONE_EXCESS} == SIX_CHAOS_ONE_EXCESS
    assert {"garbage_exposure", "hanging_laundry", "crowding"} <= kinds.keys()
    for kind in kinds.values():
        RULE_PARAMETERS.validate_python(kind.rule)  # whole: a site rule need not add any parameter
        assert kind.accept_within_min <= kind.resolve_within_min and kind.severity in ("low", "medium", "high")
    types = {kind.rule["type"] for kind in kinds.values()}
    assert types == {"dwell", "cluster", "persistence", "count"}


def test_a_parameter_name_means_the_same_in_every_rule_type() -> None:
    """A site may write a parameter before its rule type is known: one name, one field."""
    seen: dict[str, str] = {}
    for rule_type in RULE_TYPES.values():
        for name, info in rule_type.parameters.model_fields.items():
            if name != "type":
                assert seen.setdefault(name, repr(info)) == repr(info), f"{name} differs in {rule_type.name}"


def test_a_site_adds_a_kind_and_changes_another_by_configuration(tmp_path: Path) -> None:
    site = good_site()
    site["kinds"] = {"fire_lane": FIRE_LANE, "posting": {"label_zh": "小广告", "rule": {"checks": 8}}}
    site["cameras"][0]["zones"][0]["tags"].append("fire_lane")
    site["rules"] += [{"kind": "fire_lane", "zone_tags": ["fire_lane"]},
                      {"kind": "posting", "zone_tags": ["fire_lane"], "objects": ["person"], "min_present": 5},
                      {"kind": "street_vending", "zone_tags": ["fire_lane"], "dwell_s": 90, "settle_s": 5}]
    loaded = load_site(write_site(tmp_path, site))
    assert loaded.kinds["fire_lane"].label_zh == "占用消防通道"
    assert loaded.kinds["posting"].label_zh == "小广告" and loaded.kinds["posting"].rule["check_every_s"] == 300

    built = assemble.camera_rules(loaded, loaded.config.cameras[0])
    fire_lane, posting, vending = built[1:]
    assert isinstance(fire_lane, DwellRule) and fire_lane.params.dwell_s == 60
    assert fire_lane.params.objects == ("motor_vehicle",)
    assert isinstance(posting, PersistenceRule) and (posting.params.checks, posting.params.min_present) == (8, 5)
    assert isinstance(vending, ClusterRule) and (vending.params.dwell_s, vending.params.settle_s) == (90, 5)
    assert vending.params.groups[0].objects == ("stall", "vendor_cart", "umbrella")
    assert assemble.due_limits(loaded).for_kind("fire_lane").accept == 5
    assert assemble.kind_labels(loaded)["fire_lane"] == "占用消防通道"


@pytest.mark.parametrize(("change", "field", "message"), [
    (lambda s: s["rules"][0].update(kind="jaywalking"), "rules[0] (jaywalking).kind", "unknown kind 'jaywalking'"),
    (lambda s: s["rules"][0].update(kind="posting", objects=["person"]), "rules[0] (posting).dwell_s",
     "does not apply to a persistence rule"),
    (lambda s: s["rules"][0].update(dwell_s=None), "rules[0] (non_motor_parking).dwell_s",
     "Input should be a valid number"),  # a null does not mean "the kind's": leave the key out for that
    (lambda s: s["rules"][0].update(checks=5), "rules[0] (non_motor_parking).checks",
     "does not apply to a dwell rule"),
    (lambda s: s["rules"][0].update(type="persistence"), "rules[0] (non_motor_parking).check_every_s",
     "a persistence rule needs it"),
    (lambda s: s["rules"][0].update(objects=["flying_saucer"]), "rules[0] (non_motor_parking).objects",
     "unknown object kind 'flying_saucer'"),
    (lambda s: s["rules"][0].pop("dwell_s") and s["rules"][0].update(kind="posting"), "rules[0] (posting).kind",
     "the model sees none of the kind's object kinds ['poster', 'flyer']"),
    (lambda s: s["rules"][0].pop("dwell_s") and s["rules"][0].update(kind="posting", objects=["person"], checks=3,
                                                                      min_present=4),
     "rules[0] (posting).min_present", "cannot exceed checks (3)"),
    (lambda s: s.update(kinds={"fire_lane": {"label_zh": "占用消防通道"}}), "kinds.fire_lane.accept_within_min",
     "a new kind: Field required"),
    (lambda s: s.update(kinds={"fire_lane": dict(FIRE_LANE, rule={"type": "hover", "dwell_s": 3})}),
     "kinds.fire_lane.rule.type", "Input should be 'dwell', 'cluster', 'persistence' or 'count'"),
    (lambda s: s.update(kinds={"Fire Lane": FIRE_LANE}), "kinds.Fire Lane", "String should match pattern"),
    (lambda s: s["cameras"][0]["zones"][0].update(allow={"busking": ["Mon-Sun 18:00-22:00"]}),
     "cameras[0] (cam-01).zones[0] (gate).allow.busking", "unknown kind 'busking'"),
    (lambda s: s["cameras"][0]["zones"][0].update(allow={"street_vending": ["evenings"]}),
     "cameras[0] (cam-01).zones[0] (gate).allow.street_vending", "bad shift syntax"),
    (lambda s: s.update(object_filters={"person": {"min_area": 2}}), "object_filters.person.min_area",
     "less than or equal to 1"),
    (lambda s: s.update(taxonomy="missing.yaml"), "taxonomy", "cannot read the file"),
])
def test_user_kinds_and_rules_are_validated(tmp_path: Path, change, field: str, message: str) -> None:
    site = good_site()
    change(site)
    problems = problems_of(tmp_path, site)
    assert field in problems, problems
    assert message in problems[field], problems[field]


def test_a_site_taxonomy_file_replaces_the_shipped_one(tmp_path: Path) -> None:
    own = {"kinds": {"non_motor_parking": dict(FIRE_LANE, label_zh="电动车乱停", rule={
        "type": "dwell", "objects": ["non_motor_vehicle"], "dwell_s": 30})}}
    (tmp_path / "kinds.yaml").write_text(yaml.safe_dump(own, allow_unicode=True), encoding="utf-8")
    site = good_site() | {"taxonomy": "kinds.yaml"}
    loaded = load_site(write_site(tmp_path, site))
    assert list(loaded.kinds) == ["non_motor_parking"] and loaded.kinds["non_motor_parking"].label_zh == "电动车乱停"
    (tmp_path / "kinds.yaml").write_text("kinds: {non_motor_parking: {label_zh: x}}", encoding="utf-8")
    problems = problems_of(tmp_path, site)
    assert any(str(tmp_path / "kinds.yaml") in str(field) or field.startswith("kinds.non_motor_parking")
               for field in problems), problems
