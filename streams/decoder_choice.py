"""Which decoder turns a camera's packets into pictures: PyAV (ffmpeg) on the CPU, or NVIDIA's NVDEC
through PyNvVideoCodec on the GPU (`decode_device: cuda`), which is imported only when chosen."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TypeAlias

import av

from streams.nvdec import NvdecDecoder

NVDEC_PACKAGE = "PyNvVideoCodec"
NVDEC_INSTALL = "pip install PyNvVideoCodec (README: GPU)"

# A packet in, the pictures it completes out.
PacketDecoder: TypeAlias = "Callable[[av.Packet[av.VideoStream]], list[av.VideoFrame]]"


class DecodeDevice(StrEnum):
    CPU = "cpu"
    CUDA = "cuda"


class DecoderUnavailable(ValueError):
    """The decoder a camera asks for cannot run on this machine."""


def nvdec_missing(dev_dir: Path = Path("/dev")) -> str | None:
    """Why NVDEC cannot decode on this machine, or None: an NVIDIA GPU device node present and
    PyNvVideoCodec installed (the driver makes /dev/nvidia0...; a container gets them from the GPU runtime)."""
    if not any(dev_dir.glob("nvidia[0-9]*")):  # first: without a GPU, installing the package would not help
        return f"no NVIDIA GPU on this machine (no {dev_dir / 'nvidia0'})"
    if importlib.util.find_spec(NVDEC_PACKAGE) is None:
        return f"{NVDEC_PACKAGE} is not installed: {NVDEC_INSTALL}"
    return None


def pyav_decode(packet: av.Packet[av.VideoStream]) -> list[av.VideoFrame]:
    """ffmpeg's software decoder, as the stream's codec context was set up (threads, skipped frames)."""
    return packet.decode()


def packet_decoder(device: DecodeDevice, stream: av.VideoStream, keyframes_only: bool) -> PacketDecoder:
    """The decoder for `device`: PyAV for the CPU; NVDEC for CUDA (DecoderUnavailable when it cannot run).
    `keyframes_only`: NVDEC is given key packets only (PyAV skips the others through its codec context)."""
    if device is DecodeDevice.CPU:
        return pyav_decode
    reason = nvdec_missing()
    if reason is not None:
        raise DecoderUnavailable(f"decode_device cuda: {reason}")
    return NvdecDecoder(stream, keyframes_only)
