"""Train -> export -> load -> detect -> evaluate a custom model with the real `aibrain models` commands.

The dataset is made here from the shared street stills: boxes from the real detector, classes
renamed the way a city labels them (motorcycle -> e_bike), flipped/darkened/shrunk copies to
train on, the originals to validate on. One epoch at 160 px: the model is only sane, not good.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from aibrain.assemble import camera_detector_state, open_model
from aibrain.assets import assets_dir
from configs.load import load_site
from detector.backends.backend_options import BackendOptions
from detector.backends.onnx_backend import OnnxBackend
from detector.detections import Detections
from detector.model_card import load_card
from tests.configs.test_load_site import good_site, write_site
from tests.conftest import shared_asset

pytestmark = pytest.mark.e2e

STILLS = ("zeyan_sharedbike_main1.jpg", "bagus_test_1.jpg", "etoilesha_ebike_2024-01-01_12-07-27.png")
CLASSES = {0: "bicycle", 1: "e_bike", 2: "person", 3: "car"}
FROM_COCO = {"bicycle": "bicycle", "motorcycle": "e_bike", "person": "person", "car": "car", "truck": "car"}
EXPECTED_KINDS = {"bicycle": "non_motor_vehicle", "e_bike": "non_motor_vehicle", "person": "person",
                  "car": "motor_vehicle"}
NAME, IMGSZ = "street-e2e", 160
# Each copy: the image, and how a box (x1, y1, x2, y2) in the original moves with it.
Augment = Callable[[np.ndarray], tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]]
AUGMENTS: dict[str, Augment] = {
    "flip": lambda im: (cv2.flip(im, 1), lambda b: np.array([im.shape[1] - b[2], b[1], im.shape[1] - b[0], b[3]])),
    "dark": lambda im: ((im * 0.6).astype(np.uint8), lambda b: b),
    "half": lambda im: (cv2.resize(im, (im.shape[1] // 2, im.shape[0] // 2)), lambda b: b / 2),
}


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, f"{path} does not decode"
    return image


def aibrain(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aibrain", *args], capture_output=True, text=True, timeout=600,
                          env=env)


def write_example(root: Path, split: str, name: str, image: np.ndarray, labels: list[tuple[int, np.ndarray]]) -> None:
    height, width = image.shape[:2]
    assert cv2.imwrite(str(root / "images" / split / f"{name}.jpg"), image)
    lines = [f"{cls} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} {(x2 - x1) / width:.6f} "
             f"{(y2 - y1) / height:.6f}\n" for cls, (x1, y1, x2, y2) in labels]
    (root / "labels" / split / f"{name}.txt").write_text("".join(lines), encoding="utf-8")


def build_dataset(root: Path, labeller: OnnxBackend) -> Path:
    """A YOLO-format dataset labelled by the real detector; returns its dataset YAML."""
    for kind in ("images", "labels"):
        for split in ("train", "val"):
            (root / kind / split).mkdir(parents=True)
    ids = {name: class_id for class_id, name in CLASSES.items()}
    for still in STILLS:
        image = read_image(shared_asset(f"footage/images/{still}"))
        (found,) = labeller.detect([image])
        coco_names = [labeller.class_names[int(c)] for c in found.class_id]
        labels = [(ids[FROM_COCO[name]], box) for name, box in zip(coco_names, found.xyxy, strict=True)
                  if name in FROM_COCO]
        assert labels, f"the detector found nothing to label in {still}"
        stem = Path(still).stem
        write_example(root, "val", stem, image, labels)
        for name, augment in AUGMENTS.items():
            copy, move = augment(image)
            write_example(root, "train", f"{stem}-{name}", copy, [(cls, move(box)) for cls, box in labels])
    data = root / "street.yaml"
    data.write_text(yaml.safe_dump({"path": str(root), "train": "images/train", "val": "images/val",
                                    "names": CLASSES}), encoding="utf-8")
    return data


@pytest.fixture(scope="module")
def models_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if os.environ.get("CI") != "true":  # CI installs the extra: there a missing one must fail
        pytest.importorskip("ultralytics", reason="the Ultralytics extra is not installed")
    dead_proxy = "http://127.0.0.1:9"  # any download attempt fails at once, as it would offline
    return os.environ | {"AIBRAIN_ASSETS": str(assets_dir()),
                         "YOLO_CONFIG_DIR": str(tmp_path_factory.mktemp("ultralytics-settings")),
                         "HTTP_PROXY": dead_proxy, "HTTPS_PROXY": dead_proxy, "ALL_PROXY": dead_proxy,
                         "NO_PROXY": ""}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, yolo_onnx: Path) -> Path:
    return build_dataset(tmp_path_factory.mktemp("dataset"), OnnxBackend(yolo_onnx, BackendOptions(conf=0.3)))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, models_env: dict[str, str], dataset: Path,
            yolo_onnx: Path) -> Path:
    """The models directory `models train` wrote, from the yolov8n card's .pt in the shared models."""
    out = tmp_path_factory.mktemp("models")
    run = aibrain(models_env, "models", "train", "--data", str(dataset), "--base", "yolov8n",
                  "--model-dir", str(yolo_onnx.parent), "--epochs", "1", "--imgsz", str(IMGSZ), "--batch", "4",
                  "--name", NAME, "--out", str(out))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"model card {out / NAME}.yaml" in run.stdout
    return out


def test_train_writes_a_card_for_the_new_model(trained: Path, dataset: Path, models_env: dict[str, str]) -> None:
    card = load_card(trained / f"{NAME}.yaml")
    assert card.name == NAME and card.input_size == IMGSZ and card.licence == load_card("yolov8n").licence
    assert card.weights == [f"{NAME}.onnx", f"{NAME}.pt"]
    assert all((trained / weights).is_file() for weights in card.weights)
    assert card.object_kinds == EXPECTED_KINDS  # e_bike's kind comes from the custom-street-order template
    assert "'yolov8n'" in card.provenance and str(dataset) in card.provenance and "mAP50" in card.provenance
    assert (trained / "runs" / NAME / "results.csv").is_file()
    listing = aibrain(models_env, "models", "list", "--model-dir", str(trained))
    assert listing.returncode == 0, listing.stderr
    assert f"{NAME} ({trained / NAME}.yaml)\n  licence: AGPL-3.0\n  weights: {trained / NAME}.onnx" in listing.stdout
    again = aibrain(models_env, "models", "train", "--data", str(dataset), "--base", "yolov8n", "--name", NAME,
                    "--out", str(trained))
    assert again.returncode == 1 and "already exists" in again.stderr


@pytest.mark.parametrize("model_keys", ["weights and card", "card and model_dirs", "card name in model_dirs"])
def test_a_site_serves_the_trained_model(trained: Path, models_env: dict[str, str], shared_bike_still: Path,
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_keys: str) -> None:
    site = good_site()
    if model_keys == "weights and card":
        site |= {"model": str(trained / f"{NAME}.onnx"), "model_card": str(trained / f"{NAME}.yaml")}
    elif model_keys == "card and model_dirs":
        site |= {"model": str(trained / f"{NAME}.yaml"), "model_dirs": [str(trained)]}
    else:  # as `aibrain models train --name` told: the card's name, found in a models directory
        site |= {"model": NAME, "model_dirs": [str(trained)]}
    path = write_site(tmp_path, site)
    check = aibrain(models_env, "check-config", str(path))
    assert check.returncode == 0, check.stderr
    monkeypatch.setenv("AIBRAIN_ASSETS", str(assets_dir()))
    loaded_site = load_site(path)
    model = open_model(loaded_site)
    assert isinstance(model.backend, OnnxBackend) and model.weights == trained / f"{NAME}.onnx"
    assert model.backend.class_names == CLASSES and model.backend.input_size == (IMGSZ, IMGSZ)
    camera_detector_state(loaded_site, loaded_site.config.cameras[0], model)  # the card fits the model's classes
    image = read_image(shared_bike_still)
    results = model.backend.detect([image, image[::2, ::2].copy(), image])
    assert_well_formed(results, image.shape[:2])
    assert np.array_equal(results[0].xyxy, results[2].xyxy)


def assert_well_formed(results: list[Detections], full_size: tuple[int, int]) -> None:
    assert len(results) == 3
    for detections in results:
        assert set(detections.class_id.tolist()) <= set(CLASSES)
        assert ((detections.confidence >= 0.25) & (detections.confidence <= 1)).all()
        assert (detections.xyxy[:, 2:] >= detections.xyxy[:, :2]).all() and (detections.xyxy >= 0).all()
        assert (detections.xyxy[:, [0, 2]] <= full_size[1]).all() and (detections.xyxy[:, [1, 3]] <= full_size[0]).all()


def test_export_with_a_dynamic_batch(trained: Path, models_env: dict[str, str], shared_bike_still: Path,
                                     tmp_path: Path) -> None:
    run = aibrain(models_env, "models", "export", str(trained / f"{NAME}.yaml"), "--format", "onnx",
                  "--dynamic-batch", "--out", str(tmp_path))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "4 classes, input 160x160, stride 32, any batch (up to 32 a run), fp32 weights" in run.stdout
    backend = OnnxBackend(tmp_path / f"{NAME}.onnx")
    assert backend.class_names == CLASSES and backend.input_size == (IMGSZ, IMGSZ) and backend.stride == 32
    assert backend.max_batch > 1
    image = read_image(shared_bike_still)
    batched = backend.detect([image, image, image])
    assert_well_formed(batched, image.shape[:2])
    (alone,) = backend.detect([image])
    assert all(np.allclose(d.xyxy, alone.xyxy, atol=0.5) for d in batched)


def test_half_export_runs_in_the_onnx_backend(models_env: dict[str, str], yolo_onnx: Path,
                                              shared_bike_still: Path, tmp_path: Path) -> None:
    """fp16 weights with fp32 input and output: loads in the backend unchanged, finds what fp32 finds."""
    run = aibrain(models_env, "models", "export", "yolov8n", "--model-dir", str(yolo_onnx.parent), "--half",
                  "--out", str(tmp_path))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "80 classes, input 640x640, stride 32, batch 1, fp16 weights" in run.stdout
    image = read_image(shared_bike_still)
    (half,) = OnnxBackend(tmp_path / "yolov8n_coco_dq.onnx").detect([image])
    (full,) = OnnxBackend(yolo_onnx).detect([image])
    assert sorted(half.class_id.tolist()) == sorted(full.class_id.tolist())


def test_eval_prints_map_and_per_class_precision_recall(trained: Path, dataset: Path, models_env: dict[str, str],
                                                        yolo_onnx: Path, tmp_path: Path) -> None:
    run = aibrain(models_env, "models", "eval", str(trained / f"{NAME}.yaml"), "--data", str(dataset),
                  "--json", str(tmp_path / "metrics.json"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "mAP50 " in run.stdout and "mAP50-95 " in run.stdout and "non_motor_vehicle" in run.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["weights"] == str(trained / f"{NAME}.onnx")  # the file a site would serve
    assert 0 <= metrics["map50_95"] <= metrics["map50"] <= 1
    boxes = sum(len(f.read_text().splitlines()) for f in (dataset.parent / "labels" / "val").glob("*.txt"))
    assert sum(row["instances"] for row in metrics["classes"]) == boxes
    for row in metrics["classes"]:
        assert row["object_kind"] == EXPECTED_KINDS[row["name"]]
        assert all(0 <= row[key] <= 1 for key in ("precision", "recall", "map50", "map50_95"))
    coco = aibrain(models_env, "models", "eval", "yolov8n", "--model-dir", str(yolo_onnx.parent), "--data",
                   str(dataset))
    assert coco.returncode == 1 and "labels classes" in coco.stderr and "Traceback" not in coco.stderr


def test_a_template_cannot_be_trained_from(dataset: Path, models_env: dict[str, str], tmp_path: Path) -> None:
    run = aibrain(models_env, "models", "train", "--data", str(dataset), "--base", "custom-street-order",
                  "--out", str(tmp_path))
    assert run.returncode == 1 and "is a template" in run.stderr and "Traceback" not in run.stderr
