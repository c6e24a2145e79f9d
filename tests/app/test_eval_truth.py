"""`aibrain eval incidents` refuses bad truth before replaying anything: exit 2, each problem naming the truth
file, the entry and the field; a FILE without an entry; kinds, zones and rules the site does not have."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aibrain.evaluation.truth import Truth, entries_for, load_truth
from configs.problems import ConfigError
from tests.e2e.replay_site import write_site

EXIT_USAGE = 2
PEUGEOT = {"id": "peugeot", "kind": "motor_parking", "zone": "sidewalk", "stands": [0.0, None],
           "box": [0.52, 0.44, 0.99, 0.76]}


def write_truth(folder: Path, truth: object) -> Path:
    path = folder / "truth.yaml"
    path.write_text(yaml.safe_dump(truth, allow_unicode=True), encoding="utf-8")
    return path


def aibrain_eval(site: Path, truth: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aibrain", "eval", "incidents", "--truth", str(truth),
                           *map(str, files), "--config", str(site), "--camera", "cam-07", "--no-progress"],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A FILE that exists (the truth is checked before anything is replayed, so it need not be a video)."""
    path = tmp_path / "street.mp4"
    path.write_bytes(b"not read: the truth is refused first")
    return path


@pytest.fixture
def site(tmp_path: Path, clip: Path, yolo_onnx: Path) -> Path:
    return write_site(tmp_path, str(clip), yolo_onnx)


def refused(site: Path, truth: Path, *files: Path) -> str:
    run = aibrain_eval(site, truth, *files)
    assert run.returncode == EXIT_USAGE, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr and "TP" not in run.stdout, "refused before any replay or figure"
    return run.stderr


def test_bad_fields_are_each_named_with_the_truth_file_the_entry_and_the_field(
        tmp_path: Path, site: Path, clip: Path) -> None:
    truth = write_truth(tmp_path, {"version": 1, "files": [{"file": "street.mp4", "objects": [
        PEUGEOT | {"stands": [5.0, 3.0]},
        PEUGEOT | {"id": "van", "box": [0.9, 0.1, 0.2, 0.5], "colour": "white"}]}]})
    errors = refused(site, truth, clip)
    assert f"{truth}: files[0]" in errors
    assert "objects[0]" in errors and ".stands: leaves (3 s) before it arrives (5 s)" in errors, errors
    assert "objects[1]" in errors and ".box: a box is [x1, y1, x2, y2] with x1 < x2" in errors, errors
    assert ".colour: Extra inputs are not permitted" in errors, errors
    assert f"3 problem(s) in {truth}" in errors


def test_a_file_without_an_entry_is_named(tmp_path: Path, site: Path, clip: Path) -> None:
    other = tmp_path / "elsewhere.mp4"
    other.write_bytes(b"x")
    truth = write_truth(tmp_path, {"version": 1, "files": [{"file": "street.mp4", "objects": [PEUGEOT]}]})
    errors = refused(site, truth, clip, other)
    assert f"{truth}: files: no entry for elsewhere.mp4 (FILE {other}); entries: street.mp4" in errors, errors


@pytest.mark.parametrize(("truth", "expected"), [
    ({"version": 2, "files": [{"file": "street.mp4"}]}, "version: Input should be 1"),
    ({"version": 1, "files": []}, "files: List should have at least 1 item"),
    ({"version": 1, "files": [{"file": "street.mp4"}, {"file": "other/street.mp4"}]},
     "more than one entry for the file name(s) street.mp4"),
    ({"version": 1, "files": [{"file": "street.mp4", "range": [7.5, 2.0]}]},
     ".range: [from, to]: to (2 s) must be after from (7.5 s)"),
    ({"version": 1, "files": [{"file": "street.mp4", "objects": [PEUGEOT, PEUGEOT]}]},
     ".objects: object id(s) given twice: peugeot"),
])
def test_bad_truth_files(tmp_path: Path, truth: dict[str, object], expected: str) -> None:
    path = write_truth(tmp_path, truth)
    with pytest.raises(ConfigError) as refusal:
        load_truth(path)
    assert expected in str(refusal.value) and str(path) in str(refusal.value)
    if expected.startswith("."):  # a field of an entry
        assert f"{path}: files[0]" in str(refusal.value)


def test_not_yaml_is_placed_by_line(tmp_path: Path, site: Path, clip: Path) -> None:
    truth = tmp_path / "truth.yaml"
    truth.write_text("version: 1\nfiles: [\n", encoding="utf-8")
    assert f"{truth}: (line 3, column 1): not valid YAML" in refused(site, truth, clip)


@pytest.mark.parametrize(("change", "expected"), [
    ({"kind": "motor_parkng"}, ".kind: 'motor_parkng' is not a kind of the site's taxonomy"),
    ({"zone": "sidewalks"}, ".zone: camera cam-07 has no zone 'sidewalks' (zones: sidewalk)"),
    ({"kind": "street_vending"}, ".kind: no rule of camera cam-07 watches for street_vending in zone sidewalk"),
])
def test_kinds_zones_and_rules_the_site_lacks(tmp_path: Path, site: Path, clip: Path,
                                              change: dict[str, str], expected: str) -> None:
    truth = write_truth(tmp_path, {"version": 1, "files": [{"file": "street.mp4", "objects": [PEUGEOT | change]}]})
    errors = refused(site, truth, clip)
    assert f"{truth}: files[0]" in errors and "objects[0]" in errors and expected in errors, errors


def test_entries_are_found_by_file_name_wherever_the_truth_says_the_file_lies(tmp_path: Path) -> None:
    truth = Truth.model_validate({"version": 1, "files": [{"file": "../footage/street.mp4"}, {"file": "b.mp4"}]})
    [entry] = entries_for(tmp_path / "truth.yaml", truth, [tmp_path / "clips" / "street.mp4"])
    assert entry.file == "../footage/street.mp4"
    with pytest.raises(ConfigError, match="FILEs given share the name b.mp4"):
        entries_for(tmp_path / "truth.yaml", truth, [tmp_path / "b.mp4", tmp_path / "x" / "b.mp4"])
