"""Frames in: camera and file sources, decode policy, one-slot mailboxes, health events.
Knows nothing of detection; its output type is `streams.frame.Frame`.

decode.py — open a container with explicit timeouts and decode it under a DecodePolicy.
decoder_choice.py — DecodeDevice: PyAV on the CPU or NVDEC on the GPU, and whether NVDEC can run here.
frame.py — Frame, the value that leaves this stage, and DecodePolicy.
health.py — camera health states and the event emitted on each change.
main_picture.py — a sub-stream camera's main stream: its size probed, a keyframe grabbed for evidence.
mailbox.py — one-slot mailboxes, one per camera, from which the inference loop takes batches.
nvdec.py — NVDEC decoding through PyNvVideoCodec (imported only when a camera asks for it).
screen.py — which decoded frames carry a usable picture (grey, frozen, resolution changes).
source.py — one camera's reader: connect, decode, fill the mailbox, report health, reconnect.
"""
