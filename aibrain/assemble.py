"""Build each stage's objects from a validated site: the only place config meets the stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from aibrain.model_commands import model_dirs
from configs.load import Site
from configs.schema import CameraConfig
from detector.backends import Backend, open_backend
from detector.engine import RuleEngine
from detector.inference_loop import CameraDetectorState
from detector.model_card import ModelCard, known_object_kinds, load_card, object_kind_lookup, resolve_weights
from detector.rules import KIND_DEFAULTS, RULES, Rule
from detector.tracker import CameraTracker
from detector.zones import Zone
from routing.db import make_engine, session_factory
from routing.deadlines import DueLimits, DueMinutes
from routing.dispatch import CameraInfo, Dispatcher
from routing.grids import GeoPoint
from routing.roster import Roster, Worker, parse_shift
from routing.topology import Topology
from streams.source import SourceSettings


@dataclass(frozen=True)
class LoadedModel:
    backend: Backend
    card: ModelCard
    weights: Path


def open_model(site: Site) -> LoadedModel:
    """The site's `model`: a card name (weights searched in model_dirs), a card file, or weights."""
    config = site.config
    if config.model.endswith((".onnx", ".pt")):
        card, weights = load_card(config.model_card), site.path(config.model)
    else:
        card = load_card(site.path(config.model) if config.model.endswith(".yaml") else config.model)
        weights = resolve_weights(card, model_dirs(site))
    backend = open_backend(weights, conf=config.detector.confidence, iou=config.detector.iou)
    return LoadedModel(backend, card, weights)


def camera_rules(site: Site, camera: CameraConfig) -> list[Rule]:
    """A fresh (stateful) rule per site rule that applies to one of the camera's zones."""
    camera_tags = {tag for zone in camera.zones for tag in zone.tags}
    rules = []
    for rule in site.config.rules:
        if not camera_tags & set(rule.zone_tags):
            continue
        defaults = KIND_DEFAULTS[rule.kind]
        objects = frozenset(rule.objects) if rule.objects is not None else defaults.object_kinds
        rules.append(RULES[defaults.rule](
            kind=rule.kind, object_kinds=objects, zone_tags=frozenset(rule.zone_tags), dwell_s=rule.dwell_s,
            min_confidence=rule.min_confidence, max_displacement=rule.max_displacement,
            lost_tolerance_s=rule.lost_tolerance_s, max_frame_gap_s=site.config.detector.max_frame_gap_s))
    return rules


def camera_detector_state(site: Site, camera: CameraConfig, model: LoadedModel) -> CameraDetectorState:
    zones = [Zone(zone.name, frozenset(zone.tags), tuple(zone.polygon)) for zone in camera.zones]
    engine = RuleEngine(camera.id, model.backend.class_names,
                        object_kind_lookup(model.card, model.backend.class_names),
                        known_object_kinds(model.card), zones, camera_rules(site, camera))
    return CameraDetectorState(CameraTracker(), engine)


def source_settings(site: Site, camera: CameraConfig, *, url: str | None = None,
                    replay_origin: float | None = None) -> SourceSettings:
    """Live camera settings, or replay settings (every frame kept, timeline from `replay_origin`)."""
    source = url or site.camera_source(camera)
    replay = replay_origin is not None
    is_file = "://" not in source
    return SourceSettings(
        camera_id=camera.id, url=source, decode=camera.decode, detect_fps=camera.detect_fps,
        open_timeout_s=camera.open_timeout_s, read_timeout_s=camera.read_timeout_s,
        backoff_max_s=camera.reconnect_max_s, live=not replay, pace=is_file and not replay,
        loop=camera.loop and not replay, replay_origin=replay_origin)


def topology(site: Site) -> Topology:
    prefix = site.config.queue_prefix
    return Topology(prefix=prefix, worker_ids=tuple(w.id for w in site.config.workers),
                    fallback_queue_name=f"{prefix}.{site.config.fallback_queue}")


def roster(site: Site) -> Roster:
    workers = [Worker(w.id, w.name, tuple(w.grids), tuple(parse_shift(s) for s in w.shifts))
               for w in site.config.workers]
    return Roster(workers, site.config.tz)


def due_limits(site: Site) -> DueLimits:
    return DueLimits(per_kind={rule.kind: DueMinutes(rule.accept_within_min, rule.resolve_within_min)
                               for rule in site.config.rules})


def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(make_engine(database_url))


def dispatcher(site: Site, sessions: sessionmaker[Session], wake: Callable[[], None] | None) -> Dispatcher:
    zone_grids = {(camera.id, zone.name): zone.grid for camera in site.config.cameras
                  for zone in camera.zones if zone.grid is not None}
    cameras = {camera.id: CameraInfo(camera.name, GeoPoint(*camera.location) if camera.location else None)
               for camera in site.config.cameras}
    return Dispatcher(sessions, roster(site), zone_grids, site.grids, cameras, due_limits(site),
                      topology(site), site.config.tz, wake=wake)
