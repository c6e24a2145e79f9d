"""The benches' footage: a clip encoded the way a street camera sends it (H.264, one keyframe every `gop_s`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av


def make_footage(clip: Path, minutes: float, gop_s: float, out: Path,
                 whole_gops: bool = False) -> tuple[float, float]:
    """`clip` looped to about `minutes` (at least once), re-encoded with a keyframe every `gop_s`;
    (media seconds, fps). `whole_gops` cuts it to a whole number of keyframe intervals, so that a server
    looping the file sends one keyframe every `gop_s` across the loop too (not two in a row at its seam)."""
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 30)
        loops = max(1, round(minutes * 60 / float(stream.frames / fps)))
        gop = round(gop_s * fps)
        frames = stream.frames * loops // gop * gop if whole_gops else stream.frames * loops
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(clip), "-an",
                    "-frames:v", str(frames), "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                    "-pix_fmt", "yuv420p", "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
                    str(out)], check=True)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base), fps
