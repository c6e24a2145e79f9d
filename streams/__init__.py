"""Frames in: camera and file sources, decode policy, one-slot mailboxes, health events.
Knows nothing of detection; its output type is `streams.frame.Frame`.

decode.py — open a container with explicit timeouts and decode it under a DecodePolicy.
frame.py — Frame, the value that leaves this stage, and DecodePolicy.
health.py — camera health states and the event emitted on each change.
mailbox.py — one-slot mailboxes, one per camera, from which the inference loop takes batches.
screen.py — which decoded frames carry a usable picture (grey, frozen, resolution changes).
source.py — one camera's reader: connect, decode, fill the mailbox, report health, reconnect.
"""
