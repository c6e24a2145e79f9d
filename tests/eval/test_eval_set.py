"""The labelled evaluation set (issue 12, point 3): `aibrain eval incidents` on every case of
eval_sites.CASES, the true and false incidents summed per kind over the set, and the figures held at
floors: CI fails when precision or recall of a kind drops below what the rules reach now, or when the
set's false alarms grow. The table is printed and kept in .test-artifacts/eval-set.json with each
case's own figures, false alarms and misses."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import shared_asset
from tests.eval.eval_sites import CASES, OCCLUSION, EvalCase, write_case_site
from tests.eval.made_clips import PARKED_BOX, PARKED_STANDS
from tests.helpers.browser import artifact

pytestmark = pytest.mark.e2e

COUNTS = ("tp", "fp", "fn", "duplicates")


@dataclass(frozen=True)
class Floor:
    precision: float
    recall: float
    false_alarms: int  # at most, over the whole set (duplicates included)


# What the rules reach on this set now (identity across gaps, issue 12): no false alarm; found, once
# each, 4 of the 6 parked cars (missed: the one in a 16 px shake, whose dwell restarts as if it moved,
# and the one on an unlit street, which the model scores under the confidence thresholds, 0.21 at best)
# and 3 of the 4 parked bikes (missed: the cream one mostly hidden behind another, never boxed). Raise
# them as the rules improve; lowering one needs a reason in the commit that does it.
FLOORS = {
    "motor_parking": Floor(precision=1.0, recall=4 / 6, false_alarms=0),
    "non_motor_parking": Floor(precision=1.0, recall=3 / 4, false_alarms=0),
}


def evaluate(case: EvalCase, folder: Path, model: Path) -> dict[str, Any]:
    """The figures `aibrain eval incidents --json` writes for the case (its clip made first, if made)."""
    folder.mkdir(parents=True)
    footage = shared_asset(case.footage)
    clip = case.make(footage, folder / case.clip_name) if case.make else footage
    site = write_case_site(folder, case, clip, model)
    figures = folder / "figures.json"
    run = subprocess.run([sys.executable, "-m", "aibrain", "eval", "incidents", str(clip), "--truth", str(case.truth),
                          "--config", str(site), "--camera", "cam-07", "--json", str(figures), "--no-progress"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{case.name}: {run.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(figures.read_text(encoding="utf-8"))
    return result


def summed(per_case: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """TP, FP, FN and duplicates of each kind added up over the cases, with precision and recall of the sums."""
    kinds: dict[str, dict[str, Any]] = {}
    for result in per_case.values():
        for kind, figures in result["kinds"].items():
            total = kinds.setdefault(kind, dict.fromkeys(COUNTS, 0))
            for count in COUNTS:
                total[count] += figures[count]
    for total in kinds.values():
        flagged, real = total["tp"] + total["fp"], total["tp"] + total["fn"]
        total["precision"] = total["tp"] / flagged if flagged else None
        total["recall"] = total["tp"] / real if real else None
    return dict(sorted(kinds.items()))


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def table(per_case: dict[str, dict[str, Any]], kinds: dict[str, dict[str, Any]]) -> str:
    """Each case's row per kind its site watches (a kind with neither truth nor incidents: zeros), then the set's."""
    lines = [f"{'case / kind':<44}{'TP':>4}{'FP':>4}{'FN':>4}{'dup':>5}{'precision':>11}{'recall':>8}"]
    nothing = {**dict.fromkeys(COUNTS, 0), "precision": None, "recall": None}
    rows = [(f"{case.name}: {kind}", per_case[case.name]["kinds"].get(kind, nothing))
            for case in CASES for kind in case.dwell_s]
    rows += [(f"SET: {kind}", figures) for kind, figures in kinds.items()]
    for label, figures in rows:
        lines.append(f"{label:<44}{figures['tp']:>4}{figures['fp']:>4}{figures['fn']:>4}{figures['duplicates']:>5}"
                     f"{rate(figures['precision']):>11}{rate(figures['recall']):>8}")
    return "\n".join(lines)


def test_the_evaluation_set_stays_above_its_floors(tmp_path: Path, yolo_onnx: Path) -> None:
    per_case = {case.name: evaluate(case, tmp_path / case.name, yolo_onnx) for case in CASES}
    kinds = summed(per_case)
    print(table(per_case, kinds))
    cases = {case.name: {"covers": case.covers, "footage": case.footage, "file": case.clip_name,
                         "dwell_s": case.dwell_s, **{key: per_case[case.name][key]
                                                     for key in ("kinds", "false_alarms", "misses")}}
             for case in CASES}
    floors = {kind: vars(floor) for kind, floor in FLOORS.items()}
    artifact("eval-set.json").write_text(json.dumps({"kinds": kinds, "floors": floors, "cases": cases},
                                                    ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert set(kinds) == set(FLOORS), "every kind the set measures has its floor"
    for kind, floor in FLOORS.items():
        figures = kinds[kind]
        assert figures["recall"] is not None and figures["recall"] >= floor.recall, (kind, figures)
        # None: no incident of the kind at all, so no false one either
        assert figures["precision"] is None or figures["precision"] >= floor.precision, (kind, figures)
        assert figures["fp"] <= floor.false_alarms, (kind, figures)


def test_the_occlusion_truth_is_the_made_clip_s() -> None:
    """The occlusion case's truth file says what made_clips.py's constants say of the clip."""
    (entry,) = yaml.safe_load(OCCLUSION.truth.read_text(encoding="utf-8"))["files"]
    (parked,) = entry["objects"]
    assert entry["file"] == OCCLUSION.clip_name
    assert tuple(parked["stands"]) == PARKED_STANDS
    x1, y1, x2, y2 = parked["box"]
    assert x1 <= PARKED_BOX[0] and y1 <= PARKED_BOX[1] and x2 >= PARKED_BOX[2] and y2 >= PARKED_BOX[3]
