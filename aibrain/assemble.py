"""Build each stage's objects from a validated site: the only place config meets the stages."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from aibrain.broker_setup.broker_settings import escalation_chains, site_topology
from aibrain.model_tools.weights_dirs import model_dirs
from common.schedule import parse_shift
from configs.checks import card_reference
from configs.load import Site
from configs.schema import CameraConfig, RuleConfig
from detector.backends.backend import Backend, backend_name, open_backend
from detector.backends.backend_options import BackendOptions
from detector.backends.providers import CPU, available_providers, chosen_providers
from detector.engine import ObjectFilter, RuleEngine
from detector.inference_loop import CameraDetectorState
from detector.model_card import ModelCard, known_object_kinds, load_card, object_kind_lookup, resolve_weights
from detector.rules import Rule, new_rule
from detector.tracker import CameraTracker
from detector.zones import Zone
from routing.assign.grids import GeoPoint
from routing.assign.roster import Roster, Worker
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.database import make_engine, session_factory
from routing.incidents.deadlines import DueLimits, DueMinutes
from routing.incidents.dispatch import AlertBuilder, CameraInfo, Dispatcher
from routing.incidents.interventions import Interventions
from routing.incidents.spool import Spool
from routing.incidents.verification import VerificationPolicy
from streams.source import SourceSettings


@dataclass(frozen=True)
class LoadedModel:
    backend: Backend
    card: ModelCard
    weights: Path
    more_backends: tuple[Backend, ...] = ()  # further sessions of the model, inferring side by side (live run)


@dataclass(frozen=True)
class SessionPlan:
    sessions: int  # model sessions inferring side by side
    intra_op_threads: int | None  # each one's ONNX intra-op threads; None: every core (one session)


def session_plan(cores: int, on_cpu: bool, configured: int | None) -> SessionPlan:
    """How many model sessions infer side by side, and with how many threads each: the site's
    `detector.sessions`, else one per core for a model on the CPU (one session's fork/join leaves some 10 %
    of the cores idle; one single-threaded session per core keeps them busy: measured ×1.15 on 2 cores), else 1.

    >>> session_plan(8, on_cpu=True, configured=None), session_plan(8, on_cpu=False, configured=None)
    (SessionPlan(sessions=8, intra_op_threads=1), SessionPlan(sessions=1, intra_op_threads=None))
    >>> session_plan(8, on_cpu=True, configured=3)
    SessionPlan(sessions=3, intra_op_threads=2)
    """
    sessions = configured if configured is not None else cores if on_cpu else 1
    return SessionPlan(sessions, max(1, cores // sessions) if sessions > 1 else None)


def open_model(site: Site, side_by_side: bool = False) -> LoadedModel:
    """The site's `model`: a card name (weights searched in model_dirs), a card file, or weights. With
    `side_by_side` (the live run), as many sessions as `session_plan` says, the cores shared out among them."""
    config = site.config
    dirs = model_dirs(site)
    card = load_card(card_reference(config.model, config.model_card, site.base_dir), dirs)
    weights = site.path(config.model) if config.model.endswith((".onnx", ".pt")) else resolve_weights(card, dirs)
    detector = config.detector
    options = BackendOptions(
        conf=detector.confidence, iou=detector.iou, providers=detector.provider_names, device_id=detector.device_id,
        trt_cache_dir=site.path(detector.trt_cache_dir), trt_fp16=detector.trt_fp16,
        trt_workspace_mb=detector.trt_workspace_mb)
    if not side_by_side:
        return LoadedModel(open_backend(weights, options), card, weights)
    plan = session_plan(len(os.sched_getaffinity(0)), runs_on_cpu(weights, options), detector.sessions)
    options = replace(options, intra_op_threads=plan.intra_op_threads)
    backends = [open_backend(weights, options) for _ in range(plan.sessions)]
    return LoadedModel(backends[0], card, weights, tuple(backends[1:]))


def runs_on_cpu(weights: Path, options: BackendOptions) -> bool:
    """Whether the model runs on ONNX Runtime's CPU provider (the first of those its session gets; a GPU
    provider that fails to start leaves one session on all the cores)."""
    return backend_name(weights) == "onnx" and chosen_providers(options.providers, available_providers())[0] == CPU


def camera_site_rules(site: Site, camera: CameraConfig) -> list[RuleConfig]:
    """The site rules that apply to one of the camera's zones (by tag)."""
    camera_tags = {tag for zone in camera.zones for tag in zone.tags}
    return [rule for rule in site.config.rules if camera_tags & set(rule.zone_tags)]


def camera_rules(site: Site, camera: CameraConfig) -> list[Rule]:
    """A fresh (stateful) rule per site rule that applies to one of the camera's zones."""
    return [build_rule(site, rule) for rule in camera_site_rules(site, camera)]


def build_rule(site: Site, rule: RuleConfig) -> Rule:
    """The detector's rule for a site rule: its kind's rule type and parameters, the site's changes applied."""
    return new_rule(rule.kind, frozenset(rule.zone_tags), site.resolved_rule(rule).parameters,
                    site.config.detector.max_frame_gap_s)


def camera_zones(camera: CameraConfig) -> list[Zone]:
    return [Zone(zone.name, frozenset(zone.tags), tuple(zone.polygon),
                 {kind: tuple(parse_shift(window) for window in windows) for kind, windows in zone.allow.items()})
            for zone in camera.zones]


def camera_detector_state(site: Site, camera: CameraConfig, model: LoadedModel) -> CameraDetectorState:
    filters = {kind: ObjectFilter(spec.min_confidence, spec.min_area) for kind, spec in site.object_filters.items()}
    engine = RuleEngine(camera.id, model.backend.class_names,
                        object_kind_lookup(model.card, model.backend.class_names),
                        known_object_kinds(model.card), camera_zones(camera), camera_rules(site, camera),
                        filters, site.config.tz)
    return CameraDetectorState(CameraTracker(), engine, kind_labels=kind_labels(site),
                               evidence_frames=site.config.evidence_frames)


def detect_size(model: LoadedModel) -> tuple[int, int]:
    """(width, height) of the box the readers shrink the detector's picture to fit: the model's input, which
    it would be shrunk to anyway (an ONNX model's from its metadata, Ultralytics' imgsz square)."""
    height, width = model.backend.input_size
    return width, height


def source_settings(site: Site, camera: CameraConfig, *, url: str | None = None, replay_origin: float | None = None,
                    detect_size: tuple[int, int] | None = None) -> SourceSettings:
    """Live camera settings, or replay settings (every frame kept, timeline from `replay_origin`); the
    detector's picture shrunk to fit `detect_size` (`detect_size(model)`), or None: full size. A live camera
    with a `detect_url` decodes that sub-stream (a replay, or another `url`, reads the file given only)."""
    source = url or site.camera_source(camera)
    replay = replay_origin is not None
    is_file = "://" not in source
    detect_url = camera_sub_stream(site, camera) if url is None and not replay else None
    return SourceSettings(
        camera_id=camera.id, url=source, decode=camera.decode, decode_device=camera.decode_device,
        detect_fps=camera.detect_fps,
        open_timeout_s=camera.open_timeout_s, read_timeout_s=camera.read_timeout_s,
        offline_after_s=camera.offline_after_s, backoff_max_s=camera.reconnect_max_s, live=not replay,
        pace=is_file and not replay, loop=camera.loop and not replay, replay_origin=replay_origin,
        detect_size=detect_size, detect_url=detect_url)


def camera_sub_stream(site: Site, camera: CameraConfig) -> str | None:
    """The camera's `detect_url`, a file path taken from the site file's folder; None without one."""
    if camera.detect_url is None:
        return None
    url = camera.detect_url.get_secret_value()
    return url if "://" in url else str(site.path(url))


def closed_loop(site: Site) -> ClosedLoop:
    return ClosedLoop(site_topology(site), due_limits(site), escalation_chains(site), site.config.tz)


def verification_policy(site: Site) -> VerificationPolicy:
    return site.config.verification


def roster(site: Site) -> Roster:
    workers = [Worker(w.id, w.name, tuple(w.grids), tuple(parse_shift(s) for s in w.shifts))
               for w in site.config.workers]
    return Roster(workers, site.config.tz)


def due_limits(site: Site) -> DueLimits:
    """Each kind's limits from the taxonomy, or from the site's rule for it where that sets them."""
    limits = {code: DueMinutes(kind.accept_within_min, kind.resolve_within_min) for code, kind in site.kinds.items()}
    for rule in site.config.rules:
        default = limits[rule.kind]
        limits[rule.kind] = DueMinutes(rule.accept_within_min or default.accept,
                                       rule.resolve_within_min or default.resolve)
    return DueLimits(per_kind=limits)


def kind_labels(site: Site) -> dict[str, str]:
    return {code: kind.label_zh for code, kind in site.kinds.items()}


def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(make_engine(database_url))


def camera_infos(site: Site) -> dict[str, CameraInfo]:
    return {camera.id: CameraInfo(camera.name, GeoPoint(*camera.location) if camera.location else None)
            for camera in site.config.cameras}


def dispatcher(site: Site, sessions: sessionmaker[Session], wake: Callable[[], None] | None) -> Dispatcher:
    zone_grids = {(camera.id, zone.name): zone.grid for camera in site.config.cameras
                  for zone in camera.zones if zone.grid is not None}
    return Dispatcher(sessions, roster(site), zone_grids, site.grids, camera_infos(site), due_limits(site),
                      site_topology(site), site.config.tz, wake=wake, labels=kind_labels(site))


def interventions(site: Site) -> Interventions:
    """The command centre's actions (reassign, extend, false alarm, escalate) for the workbench."""
    return Interventions(closed_loop(site), roster(site), AlertBuilder(site.grids, camera_infos(site), site.config.tz))


def intake_spool(site: Site, shard: tuple[int, int]) -> Spool:
    """The intake's spool and parked files, in `spool/` next to the evidence folder (var/spool by
    default): local disk, there when the database is not. One pair per shard, so processes of one
    site on one host never overwrite each other's."""
    index, count = shard
    return Spool(site.path(site.config.evidence_dir).parent / "spool",
                 "intake" if count == 1 else f"intake-shard-{index}-of-{count}")
