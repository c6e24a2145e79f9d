"""A short H.264 MP4 around a confirmation, cut from the replayed file, for the report to link to."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

BEFORE_S = 5.0
AFTER_S = 2.0
MAX_WIDTH = 960  # evidence to watch in a browser, not an archive copy
_MS = Fraction(1, 1000)


def write_clip(source: Path, at_s: float, out: Path, before_s: float = BEFORE_S, after_s: float = AFTER_S) -> Path:
    """Frames of `source` from `at_s - before_s` to `at_s + after_s` (media time) re-encoded to `out`.

    Re-encoding (rather than copying packets) makes the clip start exactly there, not at a keyframe,
    and plays in any browser whatever the recorder's codec.
    """
    start, end = max(at_s - before_s, 0.0), at_s + after_s
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(source)) as container, av.open(str(out), "w", options={"movflags": "+faststart"}) as target:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = scaled_size(stream.codec_context.width, stream.codec_context.height)
        encoder = target.add_stream("libx264", rate=stream.average_rate or 25)
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
        encoder.time_base = _MS
        encoder.options = {"preset": "veryfast", "crf": "26"}
        container.seek(int(start * av.time_base), backward=True)  # to the keyframe before `start`
        for frame in container.decode(stream):
            if frame.time is None or frame.time < start:
                continue
            if frame.time >= end:
                break
            picture = frame.reformat(width, height, format="yuv420p")
            picture.pts, picture.time_base = round((frame.time - start) * 1000), _MS
            target.mux(encoder.encode(picture))
        target.mux(encoder.encode(None))
    return out


def scaled_size(width: int, height: int, max_width: int = MAX_WIDTH) -> tuple[int, int]:
    """At most `max_width` wide, aspect kept, both even (yuv420p needs it)."""
    if width > max_width:
        height, width = round(height * max_width / width), max_width
    return width - width % 2, height - height % 2
