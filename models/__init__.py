"""Model cards (YAML): a model's weights file or download name, input size, and its class names
mapped to object kinds. The weights themselves are never committed.

yolov8n.yaml — the COCO YOLOv8n detector.
custom-street-order.yaml — a custom street-order model's card (e_bike, stall, goods, …).
"""
