"""Bad input the fuzzer (test_fuzz_site.py) once found slipping through: each case names its field."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from configs.load import ConfigError, load_site
from tests.configs.site_strategies import ALIAS_BOMB
from tests.configs.test_load_site import EXAMPLES, good_site, write_site

Site = dict[str, Any]


def camera(site: Site) -> dict[str, Any]:
    return site["cameras"][0]


def located(location: Any) -> Callable[[Site], None]:
    """The camera at `location`, its zone without a grid of its own (so the location decides)."""
    def apply(site: Site) -> None:
        camera(site)["location"] = location
        del camera(site)["zones"][0]["grid"]
    return apply


CASES: list[tuple[str, Callable[[Site], None], str, str]] = [
    # (case, how the good site is broken, the field path named, a fragment of the message)
    ("loop on a stream", lambda s: camera(s).update(url="rtsp://192.0.2.10/live", loop=True),
     "cameras[0] (cam-01).loop", "video files only"),
    ("a rule for no objects", lambda s: s["rules"][0].update(objects=[]),
     "rules[0] (non_motor_parking).objects", "at least 1 item"),
    ("every unset variable, with its camera", lambda s: camera(s).update(name="${AIBRAIN_UNSET_A}",
                                                                         url="${AIBRAIN_UNSET_B}"),
     "cameras[0] (cam-01).url", "AIBRAIN_UNSET_B is not set"),
    ("a region, not a time zone", lambda s: s.update(timezone="Asia"), "timezone", "unknown timezone 'Asia'"),
    ("a time zone name too long for a file name", lambda s: s.update(timezone="A" * 300), "timezone",
     "unknown timezone"),
    ("a database URL with a port of words", lambda s: s.update(database="postgresql://u:hunter2@db:port/x"),
     "database", "not a database URL"),
    ("an unsupported database", lambda s: s.update(database="mysql://u:hunter2@db/x"), "database", "'mysql'"),
    ("a broker that is not AMQP", lambda s: s.update(broker="http://u:hunter2@mq/"), "broker", "amqp://"),
    ("a broker URL pika refuses", lambda s: s.update(broker="amqp://u:hunter2@mq/?heartbeat=often"), "broker",
     "not a valid AMQP URL"),
    ("a number as a key", lambda s: camera(s)["zones"][0].update({5: "x"}), "cameras[0] (cam-01).zones[0] (gate).5",
     "Keys should be strings"),
    ("a home folder of nobody", lambda s: camera(s).update(url="~no_such_user_x/clip.mp4"), "cameras[0] (cam-01).url",
     "~no_such_user_x/clip.mp4 is not readable"),
    ("a NUL in a video path", lambda s: camera(s).update(url="clip\0.mp4"), "cameras[0] (cam-01).url", "not readable"),
    ("a NUL in the grids path", lambda s: s.update(grids="grids\0.geojson"), "grids", "cannot read"),
    ("an endless occlusion", lambda s: s["rules"][0].update(lost_tolerance_s=float("inf")),
     "rules[0] (non_motor_parking).lost_tolerance_s", "finite number"),
    ("a due time past any date", lambda s: s["rules"][0].update(accept_within_min=1e300, resolve_within_min=1e300),
     "rules[0] (non_motor_parking).accept_within_min", "less than or equal to 10080"),
    ("a frame gap of no number", lambda s: s.update(detector={"max_frame_gap_s": float("nan")}),
     "detector.max_frame_gap_s", "finite number"),
    ("resolved before accepted", lambda s: s["rules"][0].update(accept_within_min=60, resolve_within_min=30),
     "rules[0] (non_motor_parking).resolve_within_min", "30 is below accept_within_min (60)"),
    ("resolved before accepted by default", lambda s: s["rules"][0].update(resolve_within_min=10),
     "rules[0] (non_motor_parking).resolve_within_min", "10 is below accept_within_min (15)"),
    ("a list as a camera id", lambda s: camera(s).update(id=["cam"]), "cameras[0].id", "valid string"),
    ("a mapping as a zone name", lambda s: camera(s)["zones"][0].update(name={"zh": "门"}),
     "cameras[0] (cam-01).zones[0].name", "valid string"),
    ("a line break in a camera id", lambda s: camera(s).update(id="cam\n01"), "cameras[0] ('cam\\n01').id",
     "should match pattern"),
    ("an empty key", lambda s: camera(s).update({"": 1}), "cameras[0] (cam-01).''", "Extra inputs"),
    ("a key with a line break", lambda s: s.update({"grids\n": 1}), "'grids\\n'", "Extra inputs"),
    ("a location of words", located(["east", "north"]), "cameras[0] (cam-01).location[0]", "valid number"),
    ("a location of nothing", located([None, None]), "cameras[0] (cam-01).location[1]", "valid number"),
    ("a worker named by blanks", lambda s: s["workers"][0].update(name=" \u3000 "), "workers[0] (w-001).name",
     "at least 1 character"),
    ("a camera named by blanks", lambda s: camera(s).update(name="\t"), "cameras[0] (cam-01).name",
     "at least 1 character"),
    ("queues RabbitMQ would refuse", lambda s: s.update(queue_prefix="amq"), "queue_prefix", "reserves"),
    ("a district named by blanks", lambda s: s.update(district="  "), "district", "at least 1 character"),
    ("a workbench on port 0", lambda s: s.update(web={"port": 0}), "web.port", "greater than or equal to 1"),
    ("a workbench on a port past 65535", lambda s: s.update(web={"port": 65536}), "web.port", "less than or equal"),
    ("a login that ends before it could idle out", lambda s: s.update(web={"session_idle_min": 60, "session_max_h": 1}),
     "web", "session_max_h (1 h) must exceed session_idle_min (60 min)"),
    ("a login that ends before the default idle time", lambda s: s.update(web={"session_max_h": 0.25}),
     "web", "session_max_h (0.25 h) must exceed session_idle_min (30 min)"),
    ("an idle time of none", lambda s: s.update(web={"session_idle_min": 0}), "web.session_idle_min", "greater than 0"),
    ("a session past any date", lambda s: s.update(web={"session_max_h": 1e300}), "web.session_max_h",
     "less than or equal"),
    ("a workbench key of nothing", lambda s: s.update(web={"theme": "dark"}), "web.theme", "Extra inputs"),
    ("the workbench on the metrics port", lambda s: s.update(web={"port": 9100}, metrics_port=9100), "web.port",
     "9100 is the metrics_port too"),
    ("the workbench's default port as the metrics port", lambda s: s.update(web={}, metrics_port=8080), "web.port",
     "8080 is the metrics_port too"),
]


@pytest.mark.parametrize(("break_site", "field", "message"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_bad_input_is_a_config_error_naming_the_field(tmp_path: Path, break_site: Callable[[Site], None],
                                                      field: str, message: str) -> None:
    site = good_site()
    break_site(site)
    path = write_site(tmp_path, site)
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    problems = {problem.field: problem.message for problem in caught.value.problems}
    assert field in problems, f"no problem at {field}: {caught.value}"
    assert message in problems[field]
    assert not any(p.message.startswith("Value error") for p in caught.value.problems)
    assert all(problem.file == path for problem in caught.value.problems)
    assert "hunter2" not in str(caught.value)  # the password of the URLs above


def grid_properties(**changes: Any) -> str:
    """The example grids file with the first grid's properties changed (None: the property left out)."""
    grids = json.loads((EXAMPLES / "grids.geojson").read_text(encoding="utf-8"))
    properties = grids["features"][0]["properties"]
    properties.update(changes)
    for key in [key for key, value in changes.items() if value is None]:
        del properties[key]
    return json.dumps(grids, ensure_ascii=False)


GRID_CASES: list[tuple[str, str, str]] = [
    # (case, content of the grids file, a fragment of the problem reported under `grids`)
    ("nested too deeply", "[" * 100_000, "nested too deeply"),
    ("a grid with empty properties", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
            [121.47, 31.23], [121.48, 31.23], [121.48, 31.24], [121.47, 31.23]]]}}]}),
     "features[0].properties.id: expected a non-empty string, got None"),
    ("an integer of 5000 digits", '{"type": "FeatureCollection", "features": [' + "9" * 5000 + "]}", "digits"),
    ("a grid of no street", grid_properties(street=None), "features[0].properties.street: expected a non-empty string"),
    ("a grid of an empty community", grid_properties(community=""),
     "features[0].properties.community: expected a non-empty string, got ''"),
    ("a community with a slash", grid_properties(community="汇丰/社区"),
     "features[0].properties.community: '汇丰/社区' holds a '/'"),
]


@pytest.mark.parametrize(("content", "message"), [case[1:] for case in GRID_CASES],
                         ids=[case[0] for case in GRID_CASES])
def test_bad_grids_file_is_named(tmp_path: Path, content: str, message: str) -> None:
    path = write_site(tmp_path, good_site())
    (tmp_path / "grids.geojson").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    assert [p.field for p in caught.value.problems] == ["grids"] * len(caught.value.problems), caught.value
    assert any(message in p.message for p in caught.value.problems), caught.value


YAML_CASES: list[tuple[str, str, str, str]] = [
    # (case, content of the site file, field, a fragment of the message)
    ("a syntax error, placed", "grids: x\nbroker: amqp://u:hunter2@mq: 5672\n", "(line 2, column 28)",
     "mapping values are not allowed"),
    ("an integer of 5000 digits", "detector: {max_batch: " + "9" * 5000 + "}\n", "(file)", "digits"),
    ("a date that does not exist", "timezone: 2024-13-45\n", "(file)", "month must be in 1..12"),
    # libyaml's parser stops at its nesting limit, where it is; PyYAML's own would recurse too deeply.
    ("nested too deeply", "grids: " + "[" * 5000 + "]" * 5000 + "\n", "(line 1, column 1007)",
     "exceeded maximum nesting depth"),
    ("an alias inside its own anchor", "grids: &g [*g]\n", "(file)", "contains itself"),
    ("an alias bomb", ALIAS_BOMB + "rules: [{kind: *i}]\n", "(file)", "values, more than 2,000,000"),
    ("empty", "", "(file)", "the file is empty"),
    ("a list", "- grids: x\n", "(file)", "holds a list"),
]


@pytest.mark.parametrize(("content", "field", "message"), [case[1:] for case in YAML_CASES],
                         ids=[case[0] for case in YAML_CASES])
def test_bad_yaml_is_one_problem_naming_where(tmp_path: Path, content: str, field: str, message: str) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    [problem] = caught.value.problems
    assert (problem.file, problem.field) == (path, field) and message in problem.message, problem
    assert "\n" not in problem.message and "hunter2" not in problem.message


CARD_CASES: list[tuple[str, bytes, str]] = [
    # (case, content of the site's model card file, a fragment of the problem reported under `model`)
    ("not UTF-8", b"\xff\xfe junk", "cannot be read: 'utf-8' codec"),
    ("nested too deeply", b"name: " + b"[" * 5000, "nested too deeply"),
    ("a huge number", b"input_size: " + b"9" * 5000, "digits"),
    ("the wrong shape", b"- bicycle\n", "is not a valid card: (card): Input should be a valid dictionary"),
]


@pytest.mark.parametrize(("content", "message"), [case[1:] for case in CARD_CASES],
                         ids=[case[0] for case in CARD_CASES])
def test_unusable_model_card_is_named(tmp_path: Path, content: bytes, message: str) -> None:
    path = write_site(tmp_path, good_site() | {"model": "card.yaml"})
    (tmp_path / "card.yaml").write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    [problem] = caught.value.problems
    assert problem.field == "model" and message in problem.message and "\n" not in problem.message, problem
