"""A camera's live picture as `aibrain run` keeps it for the workbench (live/cameras/<id>.jpg beside
the evidence folder): a real frame of the shared footage, written where the run would write it."""

from __future__ import annotations

from pathlib import Path

import av
import cv2

from aibrain.live.live_files import live_dir, picture_file
from configs.load import Site


def first_frame_jpeg(footage: Path, width: int = 480) -> bytes:
    """The footage's first frame as a JPEG `width` pixels wide, as the live run scales its pictures."""
    with av.open(str(footage)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="bgr24")
    height = round(frame.shape[0] * width / frame.shape[1])
    ok, jpeg = cv2.imencode(".jpg", cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))
    assert ok
    return jpeg.tobytes()


def put_live_picture(site: Site, camera_id: str, footage: Path) -> Path:
    path = picture_file(live_dir(site.path(site.config.evidence_dir)), camera_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(first_frame_jpeg(footage))
    return path
