"""Frames -> violations: inference backends, a batcher across cameras, a tracker per camera,
the rule engine and evidence snapshots. Knows frames (from `streams`), never grids or people.
Its output type is `detector.violation.Violation`.

backends/ — inference backends (ONNX Runtime, Ultralytics) and their pre/post-processing.
rules/ — rule types (dwell, cluster, persistence, count), each with its parameters, and their registry.
boxes.py — vectorised box geometry shared by NMS and the rules.
caption_font.py — the CJK font evidence captions name their kind's 中文 label in.
detections.py — Detections, the typed value between backend, tracker and rules.
engine.py — the per-camera rule engine: tracked detections of a frame -> violations.
evidence.py — evidence snapshots: the confirming frame with box, zone and caption.
inference_loop.py — batches from all cameras -> backend -> each camera's tracker, rules, evidence.
main_evidence.py — a sub-stream camera's evidence from its main stream, grabbed off the loop's threads.
model_card.py — model cards: weights candidates, input size, class name -> object kind.
presence.py — automatic verification (核查): is the resolved violation still there?
tracker.py — one ByteTrack per camera, driven by frame timestamps.
violation.py — Violation, the value that leaves this stage.
zones.py — tagged image zones in normalised coordinates.
"""
