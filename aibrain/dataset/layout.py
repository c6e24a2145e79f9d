"""The export's folder, in Ultralytics' YOLO layout:

    DIR/images/{train,val}/<name>.jpg   the clean frames, copied as kept
    DIR/labels/{train,val}/<name>.txt   one `class cx cy w h` line per box (an empty file: background only)
    DIR/data.yaml                       path, train, val, names (the model's whole class map)
    DIR/card.yaml, DIR/card.md          the dataset card
    DIR/eval_truth_stub.yaml            the rule errors, for incident-level truth

An export goes only into an empty or new folder, or over a previous export with `--force` (its own
files are replaced; nothing else in the folder is touched). Any other folder is refused: an export
never deletes what it did not write.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from aibrain.dataset.split import Split

CARD_YAML, CARD_MD, DATA_YAML, TRUTH_STUB = "card.yaml", "card.md", "data.yaml", "eval_truth_stub.yaml"
EXPORT_MARK = "aibrain_dataset_export"  # card.yaml's first key: the folder is an export
OWN_ENTRIES = ("images", "labels", DATA_YAML, CARD_YAML, CARD_MD, TRUTH_STUB)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class OutRefused(Exception):
    """The output folder cannot take the export; the message names it and says what to do."""


def is_previous_export(out: Path) -> bool:
    try:
        card = yaml.safe_load((out / CARD_YAML).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(card, dict) and EXPORT_MARK in card


def prepare_out(out: Path, force: bool) -> None:
    """Make `out` ready: created, or emptied of a previous export's files (with `force`)."""
    if out.exists() and not out.is_dir():
        raise OutRefused(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not is_previous_export(out):
            raise OutRefused(f"--out {out} is not empty and holds no dataset export; choose a new or empty folder")
        if not force:
            raise OutRefused(f"--out {out} holds a previous export; add --force to replace it, or choose "
                             "a new folder")
        for name in OWN_ENTRIES:
            entry = out / name
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            elif entry.exists() or entry.is_symlink():
                entry.unlink()
    for kind in ("images", "labels"):
        for split in Split:
            (out / kind / split).mkdir(parents=True, exist_ok=True)
    # Marked as an export from the start: one cut short (a full disk, Ctrl-C) can be replaced with --force.
    (out / CARD_YAML).write_text(yaml.safe_dump({EXPORT_MARK: 1, "complete": False}), encoding="utf-8")


def example_name(camera_id: str, stamp: str, incident_id: str) -> str:
    """A file name that sorts by camera and time and stays unique per incident.

    >>> example_name("cam 07/东", "20260501-090004", "3f1c2a9e-0000")
    'cam_07_-20260501-090004-3f1c2a9e'
    """
    return f"{_UNSAFE.sub('_', camera_id)}-{stamp}-{_UNSAFE.sub('_', incident_id)[:8]}"


def write_example(out: Path, split: Split, name: str, frame: Path, label_text: str) -> Path:
    """Copy the frame (its JPEG bytes as kept: no second compression) and write its label file."""
    image = out / "images" / split / f"{name}.jpg"
    shutil.copyfile(frame, image)
    (out / "labels" / split / f"{name}.txt").write_text(label_text, encoding="utf-8")
    return image


def write_data_yaml(out: Path, class_names: dict[int, str], val: Split) -> Path:
    """Ultralytics' dataset file; `val` names the folder validated on (train when there is no val split)."""
    data = {"path": str(out.resolve()), "train": f"images/{Split.TRAIN}", "val": f"images/{val}",
            "names": dict(sorted(class_names.items()))}
    path = out / DATA_YAML
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
