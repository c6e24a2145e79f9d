"""scripts/rtsp_server.py --mounts: one GStreamer process serves a clip at /cam01 … /camNN for the capacity bench,
each mount on its own timeline, staggered so that the cameras' keyframes arrive spread over the GOP as real
cameras' do (all alike would hide, or make, unfairness in the detector's queue)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

from tests.helpers.media import make_still_clip
from tests.helpers.rtsp import RtspServer

pytestmark = pytest.mark.integration

MOUNTS = 3
WATCH_S = 4.5  # from the first keyframe: one a second
SETTLE_S = 1.5  # a client may get a burst of what the server buffered while it connected


def keyframe_times(url: str, started: float, out: dict[str, list[float]]) -> None:
    """Monotonic seconds since `started` at which the keyframe packets of `url` arrive, once the stream has
    settled, until WATCH_S after the first."""
    times: list[float] = []
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=15) as container:
        for packet in container.demux(container.streams.video[0]):
            if packet.is_keyframe:
                times.append(time.monotonic() - started)
            if times and time.monotonic() - started > times[0] + WATCH_S:
                break
    out[url] = [t for t in times if t >= times[0] + SETTLE_S]


def phase(times: list[float]) -> float:
    """Where in the second the times fall (a circular mean: 0.98 and 0.02 average to 0.0, not 0.5)."""
    return float(np.angle(np.exp(2j * np.pi * np.array(times)).mean()) / (2 * np.pi)) % 1.0


def test_one_process_serves_each_mount_on_a_timeline_of_its_own(tmp_path: Path, shared_bike_still: Path) -> None:
    clip = make_still_clip(shared_bike_still, tmp_path / "bike.mp4", seconds=4, fps=10, gop=10, width=320)
    with RtspServer(clip, mounts=MOUNTS, stagger_s=1.0) as server:
        assert [url.rsplit(":", 1)[1] for url in server.urls] == [f"{server.port}/cam{k:02d}" for k in (1, 2, 3)]
        started, arrivals = time.monotonic(), dict[str, list[float]]()
        watchers = [threading.Thread(target=keyframe_times, args=(url, started, arrivals)) for url in server.urls]
        for watcher in watchers:
            watcher.start()
        for watcher in watchers:
            watcher.join(30)
    assert sorted(arrivals) == server.urls and all(len(times) >= 2 for times in arrivals.values()), arrivals
    # Mount k's keyframes arrive (k - 1) / 3 s after mount 1's, within the second of the 1 s GOP.
    phases = [phase(arrivals[url]) for url in server.urls]
    for k, mount_phase in enumerate(phases):
        behind = (mount_phase - phases[0]) % 1.0
        assert min(abs(behind - k / MOUNTS), 1 - abs(behind - k / MOUNTS)) < 0.12, arrivals


def test_a_looping_stream_names_no_end_as_a_camera_does(tmp_path: Path, shared_bike_still: Path) -> None:
    """With the file's length in the SDP's range, OpenCV counts the stream's frames and Ultralytics' stream loader
    (the bench's other side) stops reading after them."""
    clip = make_still_clip(shared_bike_still, tmp_path / "bike.mp4", seconds=4, fps=10, gop=10, width=320)
    with RtspServer(clip, mounts=2) as server:
        for url in (*server.urls, server.urls[0]):  # the second client of a mount gets the media's range too
            with av.open(url, options={"rtsp_transport": "tcp"}, timeout=15) as container:
                assert container.duration is None, url
