from __future__ import annotations

import os
from pathlib import Path

import pytest

from aibrain.assets import MissingAsset, asset


def shared_asset(relative: str) -> Path:
    """A real weight or footage file; under CI a missing one fails the test, elsewhere it skips."""
    try:
        return asset(relative)
    except MissingAsset as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def yolo_onnx() -> Path:
    return shared_asset("models/yolov8n_coco_dq.onnx")


@pytest.fixture(scope="session")
def shared_bike_still() -> Path:
    return shared_asset("footage/images/zeyan_sharedbike_main1.jpg")


@pytest.fixture(scope="session")
def pialin_street() -> Path:
    return shared_asset("footage/videos/pialin_street.mp4")


@pytest.fixture(scope="session")
def unbox_1080p() -> Path:
    return shared_asset("footage/videos/dyh_unbox_test.mp4")
