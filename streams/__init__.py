"""Frames in: camera and file sources, decode policy, one-slot mailboxes, health events.

Knows nothing of detection; its output type is `streams.frame.Frame`.
"""
