"""What a reload compares to decide whether a camera's detector state must be rebuilt: a change of a
kind's 中文 label counts (the evidence pictures draw it), as a rule's parameters do."""

from __future__ import annotations

from pathlib import Path

import yaml

from aibrain.live.reload import detector_inputs
from configs.load import load_site
from tests.e2e.replay_site import write_site


def test_a_kinds_new_label_changes_the_cameras_detector_inputs(tmp_path: Path) -> None:
    for name in ("clip.mp4", "model.onnx"):  # read by neither here, but the site's checks want them there
        (tmp_path / name).write_bytes(b"\0")
    file = write_site(tmp_path, str(tmp_path / "clip.mp4"), tmp_path / "model.onnx")
    before = load_site(file)
    config = yaml.safe_load(file.read_text(encoding="utf-8"))
    file.write_text(yaml.safe_dump({**config, "kinds": {"motor_parking": {"label_zh": "机动车违停"}}},
                                   allow_unicode=True), encoding="utf-8")
    after = load_site(file)
    camera = before.camera("cam-07")
    assert before.kinds["motor_parking"].label_zh != after.kinds["motor_parking"].label_zh
    assert detector_inputs(before, camera) != detector_inputs(after, after.camera("cam-07"))
    assert detector_inputs(before, camera) == detector_inputs(load_site(
        write_site(tmp_path, str(tmp_path / "clip.mp4"), tmp_path / "model.onnx")), camera)
