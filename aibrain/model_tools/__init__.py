"""`aibrain models`: tools for model cards and their weights (the cards themselves are in the
top-level `models/`).

model_commands.py — list, path, fetch, export, train, eval.
weights_dirs.py — where a site's weights and cards are looked for: its model_dirs, then the user's cache.
yolo.py — Ultralytics imported on demand, never phoning home, errors in one line.
export.py — `.pt` -> ONNX, proven by loading it in the ONNX Runtime backend.
training.py — fine-tune a card's weights and write the new model's card.
evaluation.py — mAP and per-class precision/recall on a dataset's validation split.
"""
