"""eval_truth_stub.yaml: the false alarms that were the rules' errors (not a violation, wrong place,
duplicate, other), as negatives with their camera and time.

They are no training images: the object was what the model said. They are what `aibrain eval
incidents` should count as false alarms once the recording around each is cut and given a truth entry
(`files:` with that clip and no object standing at that time). The stub lists them; it is not yet a
truth file, since it names no recorded file.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from aibrain.dataset.layout import TRUTH_STUB
from aibrain.dataset.verdicts import JudgedIncident

HEADER = """\
# Rule errors: false alarms whose object was right and whose rule was wrong (a stub, not a truth file).
# To evaluate the rules on them with `aibrain eval incidents`, cut each camera's recording around
# `confirmed_at` and add a truth entry for the clip (file, range) whose objects do not include it:
# an incident there then counts as a false alarm.
"""


def write_truth_stub(out: Path, rule_errors: list[JudgedIncident], tz: ZoneInfo) -> Path:
    negatives = [{"incident": i.id, "camera": i.camera_id, "camera_name": i.camera_name, "zone": i.zone,
                  "kind": i.kind, "confirmed_at": i.confirmed_at.astimezone(tz).isoformat(timespec="seconds"),
                  "reason": i.reason or "unrecorded", "note": i.note, "snapshot": i.snapshot}
                 for i in rule_errors]
    path = out / TRUTH_STUB
    body = yaml.safe_dump({"version": 1, "negatives": negatives}, allow_unicode=True, sort_keys=False)
    path.write_text(HEADER + body, encoding="utf-8")
    return path
