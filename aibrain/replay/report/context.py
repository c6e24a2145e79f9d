"""What the report says about the replay besides its incidents: the camera, the site's names, the settings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import tzinfo

from aibrain import __version__
from aibrain.replay.inputs import format_media_time
from aibrain.replay.request import ReplayRequest
from common.redact import redact_url
from configs.load import Site
from configs.schema import CameraConfig


@dataclass(frozen=True)
class ReportContext:
    """The camera replayed, names for the ids in incident records, and the settings as shown."""

    camera_id: str
    camera_name: str
    tz: tzinfo
    settings: list[tuple[str, str]] = field(default_factory=list)  # (what, value), in order
    grid_names: dict[str, str] = field(default_factory=dict)
    worker_names: dict[str, str] = field(default_factory=dict)


def report_context(site: Site, camera: CameraConfig, request: ReplayRequest) -> ReportContext:
    config = site.config
    span = (f"{format_media_time(request.start_s or 0.0)} – "
            f"{format_media_time(request.end_s) if request.end_s is not None else 'end'} of each file")
    origin = (f"{request.origin.isoformat()} (files follow on from each other)" if request.origin
              else "each file's modification time")
    settings = [
        ("site file", str(site.file)),
        ("camera", f"{camera.id} ({camera.name})"),
        ("zones", "; ".join(f"{z.name} tags {', '.join(z.tags) or '—'} grid {z.grid or 'by camera location'}"
                            for z in camera.zones)),
        ("speed", str(request.speed)),
        ("media range", span),
        ("timeline origin", origin),
        ("decode", f"{camera.decode} at {camera.detect_fps:g} frames/s to the detector"),
        ("model", config.model),
        ("detector", json.dumps(config.detector.model_dump(mode="json"))),
        *(("rule", json.dumps(rule.model_dump(mode="json", exclude_none=True), ensure_ascii=False))
          for rule in config.rules),
        ("timezone", config.timezone),
        ("incident database", redact_url(request.database) if request.database else "temporary (discarded)"),
        ("aibrain", __version__),
    ]
    return ReportContext(camera.id, camera.name, config.tz, settings,
                         grid_names={grid_id: grid.name for grid_id, grid in site.grids.items()},
                         worker_names={worker.id: worker.name for worker in config.workers})
