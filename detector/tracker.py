"""One ByteTrack per camera, driven by frame timestamps so 1 fps and 25 fps cameras both track."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from detector.detections import Detections

_TRACKER_FRAMES_PER_SECOND = 30  # `trackers` counts its lost-track buffer in 30 fps frames


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    """ByteTrack settings in the units a camera operator thinks in.

    The library defaults (activation 0.7, high 0.6, two consecutive frames) are tuned for 30 fps
    pedestrian benchmarks; a parked bike scored 0.4 at 1 fps would never get a track with them.
    """

    lost_track_s: float = 10.0  # how long an unseen track keeps its id
    activation_threshold: float = 0.3  # confidence a detection needs to start a track
    high_confidence: float = 0.3  # first-stage association; lower scores only extend tracks
    match_iou: float = 0.1  # minimum IoU between a track's prediction and a detection
    nominal_fps: float = 5.0  # Kalman step scale; timestamps give the real intervals


class CameraTracker:
    """ByteTrack for one camera: `update(detections, ts)` returns them with `tracker_id` set.

    A new object gets its id on its second frame (ByteTrack confirms before numbering); until then
    and for low-confidence strays the id is -1.

    >>> tracker = CameraTracker()
    >>> tracked = tracker.update(Detections.empty(), ts=1_700_000_000.0)
    """

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        s = self.settings
        self._tracker = ByteTrackTracker(
            lost_track_buffer=max(1, round(s.lost_track_s * _TRACKER_FRAMES_PER_SECOND)),
            frame_rate=s.nominal_fps,
            track_activation_threshold=s.activation_threshold,
            minimum_consecutive_frames=1,
            minimum_iou_threshold=s.match_iou,
            high_conf_det_threshold=s.high_confidence,
        )

    def update(self, detections: Detections, ts: float) -> Detections:
        """Track ids for this frame's detections; `ts` must not decrease between calls."""
        tracked = self._tracker.update(
            sv.Detections(xyxy=detections.xyxy.astype(np.float64), confidence=detections.confidence,
                          class_id=detections.class_id),
            timestamp=ts)
        if len(tracked) == 0:
            return Detections.empty()
        # The tracker returns what it was given plus ids; these are never None here.
        assert tracked.confidence is not None and tracked.class_id is not None
        assert tracked.tracker_id is not None
        return Detections(tracked.xyxy, tracked.confidence, tracked.class_id, tracked.tracker_id)

    def reset(self) -> None:
        """Forget every track (the camera was repositioned or its stream restarted from scratch)."""
        self._tracker.reset()
