"""The workbench's camera pictures come from the detector's (small) picture: no full-size conversion."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from aibrain.live.camera_pictures import MAX_WIDTH, CameraPictures
from aibrain.live.live_files import picture_file
from streams.frame import Frame


class FullSizeNeverRead:
    """A decoder's 1920x1080 picture that fails the test if anything converts it."""

    width, height = 1920, 1080

    def to_bgr(self) -> np.ndarray:
        raise AssertionError("the camera picture converted the full-size picture")


def test_the_picture_is_written_from_the_detector_picture_without_converting_the_frame(tmp_path: Path) -> None:
    small = np.zeros((360, 640, 3), np.uint8)
    small[:, 320:] = (0, 0, 255)  # right half red: the written picture is this one, scaled
    frame = Frame("cam-01", 0, 1_700_000_000.0, 0.0, None, True, picture=FullSizeNeverRead(), detect_image=small)
    pictures = CameraPictures(tmp_path, ["cam-01"], threading.Event())
    pictures.offer([frame])
    pictures.write_once()
    written = cv2.imdecode(np.frombuffer(picture_file(tmp_path, "cam-01").read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert written is not None and written.shape == (270, MAX_WIDTH, 3)
    assert written[135, 400, 2] > 200 and written[135, 80, 2] < 50
    assert not frame.converted
