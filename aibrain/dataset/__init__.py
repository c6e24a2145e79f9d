"""`aibrain dataset export`: the field's verdicts on incidents turned into a YOLO training dataset.

dataset_command.py — the command's arguments and what it prints.
"""
