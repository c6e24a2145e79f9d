"""A site reload worked out: what differs between the running site and the file's new one, which of
it `aibrain run` applies live, and which waits for a restart. Applying it is LiveRun.apply's."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from aibrain import assemble
from aibrain.broker_setup.broker_settings import escalation_chains
from configs.load import Site
from configs.schema import CameraConfig

# Read once at start: the database, the broker and its queues' names, the model and how it is run, the
# evidence folder and whether clean frames go beside the snapshots (changing it live would rebuild every camera's
# detector state, its dwell timers with it), the ports, the time zone every clock reads in, and what the workbench
# shows as the district.
RESTART_ONLY = ("timezone", "district", "database", "broker", "broker_tls", "queue_prefix", "fallback_queue",
                "evidence_dir", "evidence_frames", "model", "model_card", "model_dirs", "metrics_port", "metrics_host",
                "web")
RESTART_ONLY_DETECTOR = ("confidence", "iou", "max_batch", "max_wait_ms", "providers", "device_id", "trt_cache_dir",
                         "trt_fp16", "trt_workspace_mb", "sessions")  # the model is built once, at start
RESTART_ONLY_ESCALATION = ("check_every_s",)


def detector_inputs(site: Site, camera: CameraConfig) -> tuple[object, ...]:
    """What the camera's detector state is built from (assemble.camera_detector_state), the model aside:
    its zones (polygons, tags, allow windows), the site rules that apply to them with their resolved
    parameters and their kinds' 中文 labels (drawn on the evidence), the object filters and the frame gap.
    Equal inputs, equal behaviour: the running state (tracks, dwell timers) is kept."""
    labels = assemble.kind_labels(site)
    rules = tuple((rule.kind, labels.get(rule.kind), frozenset(rule.zone_tags), site.resolved_rule(rule).parameters)
                  for rule in assemble.camera_site_rules(site, camera))
    zones = tuple(zone.model_dump(exclude={"grid"}) for zone in camera.zones)  # a zone's grid is routing's
    return zones, rules, site.object_filters, site.config.detector.max_frame_gap_s


def routing_facts(site: Site) -> dict[str, object]:
    """What routing builds from the site, in the words a reload's summary uses."""
    return {
        "workers and shifts": site.config.workers,
        "escalation chains": escalation_chains(site),
        "time limits": assemble.due_limits(site),
        "kind labels": assemble.kind_labels(site),
        "grids": dict(site.grids),
        "camera names, locations and zone grids": [
            (camera.id, camera.name, camera.location, [(zone.name, zone.grid) for zone in camera.zones])
            for camera in site.config.cameras],
        "verification": site.config.verification,
    }


def restart_only_changes(running: Site, new: Site) -> list[str]:
    """The fields that differ but are read only at start, as field paths."""
    old_config, new_config = running.config, new.config
    changed = [name for name in RESTART_ONLY if getattr(old_config, name) != getattr(new_config, name)]
    changed += [f"detector.{name}" for name in RESTART_ONLY_DETECTOR
                if getattr(old_config.detector, name) != getattr(new_config.detector, name)]
    changed += [f"escalation.{name}" for name in RESTART_ONLY_ESCALATION
                if getattr(old_config.escalation, name) != getattr(new_config.escalation, name)]
    return changed


def with_restart_only_kept(running: Site, new: Site) -> Site:
    """The new site with what only a restart changes taken from the running one: what the run applies,
    and what the next reload compares against (so it names those fields again until the restart)."""
    old_config, new_config = running.config, new.config

    def kept(section: object, names: tuple[str, ...]) -> dict[str, object]:
        return {name: getattr(section, name) for name in names}

    config = new_config.model_copy(update={
        **kept(old_config, RESTART_ONLY),
        "detector": new_config.detector.model_copy(update=kept(old_config.detector, RESTART_ONLY_DETECTOR)),
        "escalation": new_config.escalation.model_copy(update=kept(old_config.escalation, RESTART_ONLY_ESCALATION)),
    })
    return dataclasses.replace(new, config=config)


@dataclass(frozen=True)
class SiteReload:
    """The difference between the running site and a new one, for the cameras this process runs.

    Cameras not named in `added`, `removed`, `readers_restarted` or `detectors_rebuilt` are unchanged:
    their reader, tracks and dwell timers stay as they are.
    """

    site: Site  # the new site, restart-only fields as running
    added: tuple[CameraConfig, ...] = ()
    removed: tuple[str, ...] = ()
    readers_restarted: tuple[CameraConfig, ...] = ()  # what its reader reads or how changed (url, decode, fps...)
    detectors_rebuilt: tuple[CameraConfig, ...] = ()  # its zones or the rules on them changed
    routing: tuple[str, ...] = ()  # routing_facts' names that changed
    workers_added: tuple[str, ...] = ()
    needs_restart: tuple[str, ...] = ()

    def changes(self) -> list[str]:
        """What is applied, in lines for the log and the workbench."""
        cameras = [(what, [camera if isinstance(camera, str) else camera.id for camera in which])
                   for what, which in (("cameras added", self.added), ("cameras removed", self.removed),
                                       ("readers restarted", self.readers_restarted),
                                       ("zones and rules rebuilt", self.detectors_rebuilt))]
        lines = [f"{what}: {', '.join(ids)}" for what, ids in cameras if ids]
        lines += [f"{what} changed" for what in self.routing]
        if self.workers_added and self.site.broker_url():
            lines.append(f"workers added ({', '.join(self.workers_added)}): give them their broker users with "
                         f"`aibrain broker provision`")
        return lines


def plan_reload(running: Site, new: Site, runs_camera: Callable[[str], bool]) -> SiteReload:
    """What reloading `new` over `running` changes, for the cameras `runs_camera` accepts (this shard's)."""
    needs_restart = restart_only_changes(running, new)
    new = with_restart_only_kept(running, new)
    old_cameras = {camera.id: camera for camera in running.config.cameras if runs_camera(camera.id)}
    new_cameras = {camera.id: camera for camera in new.config.cameras if runs_camera(camera.id)}
    kept = [(old_cameras[camera_id], camera) for camera_id, camera in new_cameras.items() if camera_id in old_cameras]
    old_routing, new_routing = routing_facts(running), routing_facts(new)
    old_workers = {worker.id for worker in running.config.workers}
    return SiteReload(
        site=new,
        added=tuple(camera for camera_id, camera in new_cameras.items() if camera_id not in old_cameras),
        removed=tuple(camera_id for camera_id in old_cameras if camera_id not in new_cameras),
        readers_restarted=tuple(camera for old, camera in kept if assemble.source_settings(running, old)
                                != assemble.source_settings(new, camera)),
        detectors_rebuilt=tuple(camera for old, camera in kept
                                if detector_inputs(running, old) != detector_inputs(new, camera)),
        routing=tuple(name for name, facts in new_routing.items() if facts != old_routing[name]),
        workers_added=tuple(worker.id for worker in new.config.workers if worker.id not in old_workers),
        needs_restart=tuple(needs_restart),
    )

