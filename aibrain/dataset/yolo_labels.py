"""The YOLO label file of a kept frame: which detections become labels, for a confirmed incident (a
positive) and for one the field called the wrong object (a hard negative), and the label lines.

A positive labels every detection at or above the label confidence, and always the incident's own
object: the field saw it there. A hard negative labels everything but the incident's object, and only
what the model was sure of (`HARD_NEGATIVE_KEEP_CONF`): with the wrong object shown as background, an
unsure box kept beside it would as likely be the same mistake.

The incident's object among the detections: for a single object, a detection of its class covering
its box (IoU >= SAME_OBJECT_IOU); for a cluster (`object_count` > 1, the box around all members), the
detections of its class whose centre lies in the box.
"""

from __future__ import annotations

from dataclasses import dataclass

from aibrain.dataset.sidecar import Box, Sidecar, SidecarDetection

SAME_OBJECT_IOU = 0.5
HARD_NEGATIVE_KEEP_CONF = 0.5


@dataclass(frozen=True)
class Label:
    class_id: int
    xyxy: Box


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes.

    >>> round(iou((0, 0, 10, 10), (5, 0, 15, 10)), 3)
    0.333
    """
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def is_incident_object(detection: SidecarDetection, sidecar: Sidecar) -> bool:
    violation = sidecar.violation
    if detection.class_id != violation.class_id:
        return False
    if violation.object_count == 1:
        return iou(detection.xyxy, violation.bbox) >= SAME_OBJECT_IOU
    x1, y1, x2, y2 = detection.xyxy
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    bx1, by1, bx2, by2 = violation.bbox
    return bx1 <= cx <= bx2 and by1 <= cy <= by2


def positive_labels(sidecar: Sidecar, label_conf: float) -> list[Label]:
    """Every detection at >= `label_conf`, and the incident's object whatever its confidence."""
    others = [Label(d.class_id, d.xyxy) for d in sidecar.detections
              if d.confidence >= label_conf and not is_incident_object(d, sidecar)]
    violation = sidecar.violation
    if violation.object_count == 1:
        own = [Label(violation.class_id, violation.bbox)]
    else:  # a cluster's box is no object's: its members are
        own = [Label(d.class_id, d.xyxy) for d in sidecar.detections if is_incident_object(d, sidecar)]
    return own + others


def hard_negative_labels(sidecar: Sidecar) -> list[Label]:
    """The frame's sure detections, the incident's object left out: it is background."""
    return [Label(d.class_id, d.xyxy) for d in sidecar.detections
            if d.confidence >= HARD_NEGATIVE_KEEP_CONF and not is_incident_object(d, sidecar)]


def yolo_lines(labels: list[Label], frame_size: tuple[int, int]) -> str:
    """`class cx cy w h` per label, fractions of the frame; boxes clipped to it, empty ones dropped.

    >>> yolo_lines([Label(2, (100, 50, 300, 150)), Label(0, (-10, 0, -1, 5))], (400, 200))
    '2 0.500000 0.500000 0.500000 0.500000\\n'
    """
    width, height = frame_size
    lines = []
    for label in labels:
        x1, x2 = (min(max(v / width, 0.0), 1.0) for v in (label.xyxy[0], label.xyxy[2]))
        y1, y2 = (min(max(v / height, 0.0), 1.0) for v in (label.xyxy[1], label.xyxy[3]))
        if x2 <= x1 or y2 <= y1:
            continue
        lines.append(f"{label.class_id} {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f}\n")
    return "".join(lines)
