"""Inference backends, picked by name or by the weights file's suffix.

backend.py — the Backend protocol, the BACKENDS table and open_backend.
backend_options.py — BackendOptions: the thresholds and device a backend is built with.
onnx_backend.py — ONNX Runtime (CPU, CUDA or TensorRT) for Ultralytics-exported YOLOv8 models.
providers.py — the execution providers (TensorRT, CUDA, CPU) and their options, built from BackendOptions.
ultralytics_backend.py — Ultralytics for `.pt` checkpoints.
null_backend.py — a `.null` stand-in that returns fixed boxes at once: the pipeline's ceiling without inference.
preprocess.py — letterboxing a batch of frames into the model's input tensor.
postprocess.py — YOLOv8 raw output -> Detections in frame pixels (with NMS).
"""
