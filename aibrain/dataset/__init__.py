"""`aibrain dataset export`: the field's verdicts on incidents turned into a YOLO training dataset.

verdicts.py — the query: incidents of a time range the field has judged (positive, hard negative, rule error).
sidecar.py — reading an incident's kept clean frame and its detections sidecar (contract C1), checked.
yolo_labels.py — which detections become labels for a positive and a hard negative; the YOLO label lines.
split.py — train or val by a stable hash of camera and day, both splits kept non-empty.
layout.py — the output folder: refused, created or replaced; images, labels and data.yaml written.
card.py — the dataset card (card.yaml, card.md): counts per verdict, kind, camera, class, reason; sources.
truth_stub.py — the rule errors (false alarms not of the detector) as negatives for incident-level truth.
schema_check.py — the database must be at the newest schema: the export reads, never migrates.
dataset_export.py — one export: the query, frames, labels, split, layout and card together.
dataset_command.py — the command's arguments, dates in the site's time zone, and what it prints.
"""
