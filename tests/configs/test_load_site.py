from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from configs.checks import CHECKS, check_context, run_checks
from configs.load import ConfigError, load_site
from configs.yaml_file import read_yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "configs" / "examples"

BOWTIE = [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]
SQUARE = [[0.1, 0.5], [0.9, 0.5], [0.9, 0.95], [0.1, 0.95]]


def write_site(tmp_path: Path, site: dict) -> Path:
    (tmp_path / "grids.geojson").write_text((EXAMPLES / "grids.geojson").read_text(encoding="utf-8"),
                                            encoding="utf-8")
    (tmp_path / "clip.mp4").write_bytes(b"\0")
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return path


def good_site() -> dict:
    return {
        "grids": "grids.geojson",
        "workers": [{"id": "w-001", "name": "张伟", "grids": ["G-01", "G-02"], "shifts": ["Mon-Sun 00:00-24:00"]}],
        "cameras": [{"id": "cam-01", "name": "东门", "url": "clip.mp4",
                     "zones": [{"name": "gate", "grid": "G-01", "tags": ["no_parking_non_motor"],
                                "polygon": SQUARE}]}],
        "rules": [{"kind": "non_motor_parking", "zone_tags": ["no_parking_non_motor"], "dwell_s": 10}],
    }


def every_error_site() -> dict:
    site = good_site()
    site["workers"] = [
        {"id": "w-001", "name": "张伟", "grids": ["G-01"], "shifts": ["Mon-Sun 25:00-08:00"]},  # bad shift
    ]
    site["cameras"] = [
        {"id": "cam-01", "name": "东门", "url": "missing.mp4",  # unreadable file
         "zones": [{"name": "bowtie", "grid": "G-01", "tags": ["t"], "polygon": BOWTIE},  # bad polygon
                   {"name": "nowhere", "grid": "G-99", "tags": ["t"], "polygon": SQUARE}]},  # grid not in GeoJSON
        {"id": "cam-01", "name": "西门", "url": "clip.mp4",  # duplicate id
         "zones": [{"name": "west", "grid": "G-02", "tags": ["t"], "polygon": SQUARE}]},  # nobody covers G-02
    ]
    site["rules"] = [
        {"kind": "jaywalking", "zone_tags": ["t"], "dwell_s": 5},  # unknown rule kind
        {"kind": "non_motor_parking", "zone_tags": ["t"], "dwell_s": 5, "objects": ["flying_saucer"]},
    ]
    return site


def test_example_site_loads() -> None:
    site = load_site(EXAMPLES / "site.yaml")
    assert {c.id for c in site.config.cameras} == {"cam-01"}
    assert "G-01" in site.grids
    assert site.database_url().startswith("sqlite:///" + str(EXAMPLES))


def test_good_site_resolves_relative_paths(tmp_path: Path) -> None:
    site = load_site(write_site(tmp_path, good_site()))
    assert site.camera_source(site.camera("cam-01")) == str(tmp_path / "clip.mp4")
    assert site.path(site.config.evidence_dir) == tmp_path / "var" / "evidence"


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    path = write_site(tmp_path, every_error_site())
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    report = str(caught.value)
    expected = [
        "workers[0] (w-001).shifts",  # bad shift syntax
        "cameras[0] (cam-01).zones[0] (bowtie).polygon",  # self-intersection
        "cameras[0] (cam-01).zones[1] (nowhere).grid: grid 'G-99' is not in the grids file",
        "cameras[1] (cam-01): duplicate id 'cam-01'",
        "cameras[1] (cam-01).zones[0] (west): grid 'G-02' is covered by no worker",
        "cameras[0] (cam-01).url: video file",
        "rules[0] (jaywalking).kind",
        "rules[1] (non_motor_parking).objects: unknown object kind 'flying_saucer'",
    ]
    for fragment in expected:
        assert fragment in report, f"{fragment!r} missing from:\n{report}"
    assert all(str(path) in line for line in report.splitlines())
    assert "Self-intersection" in report


def test_checks_find_the_same_problems_in_any_order(tmp_path: Path) -> None:
    """No check hands a value to another: run backwards or shuffled, they find the same problems."""
    site = every_error_site()
    site["escalation"] = {"grids": {"G-77": ["leader"]}}  # a grid not in the grids file
    site["cameras"][0]["zones"][0]["allow"] = {"no_such_kind": ["Mon-Sun 00:00-24:00"]}
    site["broker_tls"] = {"ca_file": "ca.pem"}  # without an amqps:// broker
    path = write_site(tmp_path, site)
    raw = read_yaml(path)
    ctx, _ = check_context(raw, path)
    in_order = run_checks(raw, ctx)
    assert sum(1 for check in CHECKS if check(raw, ctx)) >= 7, in_order  # most checks have something to say
    for checks in (CHECKS[::-1], random.Random(9).sample(CHECKS, len(CHECKS))):
        assert sorted(map(str, (p for check in checks for p in check(raw, ctx)))) == sorted(map(str, in_order))


def test_unreadable_grids_file_is_named(tmp_path: Path) -> None:
    site = good_site() | {"grids": "no-such.geojson"}
    with pytest.raises(ConfigError) as caught:
        load_site(write_site(tmp_path, site))
    assert "grids" in str(caught.value) and "no-such.geojson" in str(caught.value)


def test_unreadable_or_invalid_yaml_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_site(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cameras: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_site(bad)


def test_environment_variables_expand_and_unset_ones_are_named(tmp_path: Path, monkeypatch) -> None:
    site = good_site()
    site["cameras"][0]["url"] = "rtsp://admin:${CAM_PW}@127.0.0.1/cam"
    path = write_site(tmp_path, site)
    monkeypatch.delenv("CAM_PW", raising=False)
    with pytest.raises(ConfigError, match=r"cameras\[0\] \(cam-01\)\.url: environment variable CAM_PW"):
        load_site(path)
    monkeypatch.setenv("CAM_PW", "s3cret")
    loaded = load_site(path)
    assert loaded.camera_source(loaded.camera("cam-01")) == "rtsp://admin:s3cret@127.0.0.1/cam"
    assert "s3cret" not in repr(loaded.config)


def test_check_config_cli_prints_all_and_exits_2(tmp_path: Path) -> None:
    path = write_site(tmp_path, every_error_site())
    run = subprocess.run([sys.executable, "-m", "aibrain", "check-config", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert run.stderr.count(str(path)) >= 8, run.stderr


def test_check_config_cli_accepts_the_example() -> None:
    run = subprocess.run([sys.executable, "-m", "aibrain", "check-config", str(EXAMPLES / "site.yaml")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "cam-01" in run.stdout
    assert "street 外滩街道: 1 community, 2 grids" in run.stdout


def test_a_card_path_is_taken_from_the_site_folder_whatever_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cards").mkdir()
    card = yaml.safe_load((EXAMPLES.parents[1] / "models" / "yolov8n.yaml").read_text(encoding="utf-8"))
    card.update(name="street-custom", object_kinds={"e_bike": "non_motor_vehicle"})
    (tmp_path / "cards" / "custom.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")
    (tmp_path / "best.onnx").write_bytes(b"\0")
    site = good_site() | {"model": "best.onnx", "model_card": "cards/custom.yaml"}
    path = write_site(tmp_path, site)
    monkeypatch.chdir(tmp_path.parent)
    assert load_site(path).config.model_card == "cards/custom.yaml"
    site["rules"][0]["objects"] = ["motor_vehicle"]  # a kind this card does not know
    with pytest.raises(ConfigError, match=r"unknown object kind 'motor_vehicle'"):
        load_site(write_site(tmp_path, site))
