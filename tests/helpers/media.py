"""Small real H.264 clips for tests, encoded with the ffmpeg CLI (no mocks, no committed video)."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

# Constant GOP and no scene-cut keyframes, so a test knows exactly which frames are keyframes.
_H264_CODEC = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-sc_threshold", "0", "-bf", "0"]
_H264 = [*_H264_CODEC, "-movflags", "+faststart"]
_H264_SLICES = (1, 5)  # NAL unit types of coded pictures: non-IDR and IDR slices
_SLICE_HEADER_BYTES = 8  # left intact, so a damaged slice still parses as one


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_still_clip(image: Path, out: Path, seconds: float, fps: int = 10, gop: int = 10,
                    width: int | None = None, blackout: tuple[float, float] | None = None) -> Path:
    """Encode a still image as an H.264 MP4 of `seconds` at `fps`, one keyframe every `gop` frames.

    `width` scales the picture (height follows the aspect ratio); dimensions are forced even,
    which yuv420p requires. `blackout` (start, end) makes the picture black in [start, end),
    as a camera sends when its sensor fails.
    """
    scale = f"scale={width}:-2" if width else "scale=trunc(iw/2)*2:trunc(ih/2)*2"
    if blackout:
        scale += f",drawbox=color=black:t=fill:enable='gte(t,{blackout[0]})*lt(t,{blackout[1]})'"
    _ffmpeg(["-loop", "1", "-framerate", str(fps), "-i", str(image), "-t", f"{seconds}",
             "-vf", scale, "-r", str(fps), "-g", str(gop), "-keyint_min", str(gop), *_H264, str(out)])
    return out


def transcode_h264(clip: Path, out: Path, gop: int = 20) -> Path:
    """Re-encode a clip's video as H.264 (what the RTSP test server serves), one keyframe every `gop` frames."""
    _ffmpeg(["-i", str(clip), "-an", "-g", str(gop), "-keyint_min", str(gop), *_H264, str(out)])
    return out


def make_resolution_change_clip(image: Path, out: Path, parts: Sequence[tuple[int, float]], fps: int = 10,
                                gop: int = 10) -> Path:
    """An MPEG-TS of a still image in `parts` of (width, seconds), one after the other on one
    timeline: what a camera sends when its resolution is changed mid-stream."""
    offset_s = 0.0
    chunks = []
    for index, (width, seconds) in enumerate(parts):
        part = out.with_name(f"{out.stem}.part{index}.ts")
        _ffmpeg(["-loop", "1", "-framerate", str(fps), "-i", str(image), "-t", f"{seconds}",
                 "-vf", f"scale={width}:-2", "-r", str(fps), "-g", str(gop), "-keyint_min", str(gop),
                 *_H264_CODEC, "-output_ts_offset", f"{offset_s}", "-f", "mpegts", str(part)])
        chunks.append(part.read_bytes())
        part.unlink()
        offset_s += seconds
    out.write_bytes(b"".join(chunks))
    return out


def damage_clip(clip: Path, out: Path, start_s: float, end_s: float, share: float = 0.05, seed: int = 1) -> Path:
    """Copy an H.264 MP4, overwriting `share` of the bytes of every picture in [start_s, end_s).

    Like bit errors on a camera's link: NAL lengths and slice headers stay intact, so the stream
    still parses and serves, but its pictures decode damaged (the decoder flags them corrupt).
    """
    rng = random.Random(seed)

    def damaged(data: bytes) -> bytes:
        buffer, at = bytearray(data), 0
        while at + 4 <= len(buffer):  # MP4 samples: 4-byte big-endian length, then the NAL unit
            nal_start = at + 4
            at = nal_start + int.from_bytes(buffer[at:nal_start], "big")
            if buffer[nal_start] & 0x1F in _H264_SLICES:
                for i in range(nal_start + _SLICE_HEADER_BYTES, min(at, len(buffer))):
                    if rng.random() < share:
                        buffer[i] = rng.randrange(256)
        return bytes(buffer)

    with av.open(str(clip)) as source, av.open(str(out), "w") as target:
        stream = source.streams.video[0]
        copy = target.add_stream_from_template(stream)
        time_base = stream.time_base
        assert time_base is not None, f"{clip}: no time base"
        for packet in source.demux(stream):
            if packet.size == 0 or packet.pts is None:  # the demuxer's end-of-stream marker
                continue
            written: av.Packet = packet
            if start_s <= float(packet.pts * time_base) < end_s:
                written = av.Packet(damaged(bytes(packet)))
                written.pts, written.dts, written.time_base = packet.pts, packet.dts, packet.time_base
                written.is_keyframe = packet.is_keyframe
            written.stream = copy
            target.mux(written)
    return out


def make_test_pattern_clip(out: Path, seconds: float, size: tuple[int, int] = (320, 240), fps: int = 10,
                           gop: int = 10) -> Path:
    """Encode ffmpeg's moving `testsrc` pattern (`size` is width, height) as an H.264 MP4."""
    width, height = size
    _ffmpeg(["-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate={fps}:duration={seconds}",
             "-g", str(gop), "-keyint_min", str(gop), *_H264, str(out)])
    return out


def paint_out(image: Path, boxes: list[tuple[float, float, float, float]], out: Path, margin: int = 12) -> Path:
    """The still with these boxes filled from their surroundings (OpenCV inpainting): the same scene
    with the objects gone, e.g. the pavement after the parked bikes were moved away."""
    import cv2

    picture = read_image(image)
    mask = np.zeros(picture.shape[:2], np.uint8)
    for x1, y1, x2, y2 in boxes:
        cv2.rectangle(mask, (int(x1) - margin, int(y1) - margin), (int(x2) + margin, int(y2) + margin), 255, -1)
    cv2.imwrite(str(out), cv2.inpaint(picture, mask, 7, cv2.INPAINT_TELEA))
    return out


def read_image(path: Path) -> np.ndarray:
    """The picture at `path` as BGR; an error naming the file rather than None when it cannot be read."""
    import cv2

    picture = cv2.imread(str(path))
    if picture is None:
        raise FileNotFoundError(f"cannot read an image from {path}")
    return picture


def make_audio_only_clip(out: Path, seconds: float = 2) -> Path:
    """An M4A of a sine tone and no video stream, as a camera's or a phone's sound-only recording."""
    _ffmpeg(["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", str(out)])
    return out
