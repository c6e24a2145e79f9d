"""Several model sessions side by side in the live run (issue 13): `detector.sessions`, its default (one
per core for a model on the CPU, else 1), the intra-op threads shared out, and the field as a restart-only
setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aibrain import assemble
from aibrain.assemble import SessionPlan, session_plan
from aibrain.live.reload import restart_only_changes
from configs.load import load_site
from configs.problems import ConfigError
from detector.backends.backend_options import BackendOptions
from detector.backends.providers import CPU
from tests.configs.test_load_site import good_site, write_site


@pytest.mark.parametrize(("cores", "on_cpu", "configured", "plan"), [
    (2, True, None, SessionPlan(2, 1)),
    (16, True, None, SessionPlan(16, 1)),
    (1, True, None, SessionPlan(1, None)),
    (2, False, None, SessionPlan(1, None)),
    (8, True, 1, SessionPlan(1, None)),
    (8, True, 3, SessionPlan(3, 2)),
    (2, True, 4, SessionPlan(4, 1)),
    (8, False, 2, SessionPlan(2, 4)),
])
def test_session_plan(cores: int, on_cpu: bool, configured: int | None, plan: SessionPlan) -> None:
    assert session_plan(cores, on_cpu, configured) == plan


def test_only_an_onnx_model_on_the_cpu_provider_counts_as_on_the_cpu(yolo_onnx: Path) -> None:
    assert assemble.runs_on_cpu(yolo_onnx, BackendOptions(providers=(CPU,)))
    assert not assemble.runs_on_cpu(Path("yolov8n.pt"), BackendOptions())
    assert not assemble.runs_on_cpu(Path("model.null"), BackendOptions())


def test_the_live_run_opens_one_session_per_core_each_on_its_share(
        tmp_path: Path, yolo_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assemble.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    site = load_site(write_site(tmp_path, good_site() | {"model": str(yolo_onnx), "detector": {"providers": ["cpu"]}}))
    model = assemble.open_model(site, side_by_side=True)
    backends = [model.backend, *model.more_backends]
    assert len(backends) == 4 and len({id(b) for b in backends}) == 4
    assert {b.options.intra_op_threads for b in backends} == {1}  # type: ignore[attr-defined]
    assert assemble.open_model(site).more_backends == (), "replay, eval and the tools: one session, every core"
    assert assemble.open_model(site).backend.options.intra_op_threads is None  # type: ignore[attr-defined]


def test_sessions_as_set_in_the_site_file(tmp_path: Path, yolo_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assemble.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    site = load_site(write_site(tmp_path, good_site() | {"model": str(yolo_onnx), "detector": {"sessions": 2}}))
    model = assemble.open_model(site, side_by_side=True)
    assert len(model.more_backends) == 1
    assert model.backend.options.intra_op_threads == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(("sessions", "message"), [
    (0, "greater than or equal to 1"), (65, "less than or equal to 64"), ("two", "valid integer")])
def test_bad_sessions_are_refused_naming_the_field(tmp_path: Path, sessions: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_site(write_site(tmp_path, good_site() | {"detector": {"sessions": sessions}}))
    [problem] = [str(p) for p in caught.value.problems]
    assert problem.startswith(f"{tmp_path / 'site.yaml'}: detector.sessions") and message in problem, problem


def test_sessions_take_effect_at_a_restart(tmp_path: Path) -> None:
    running = load_site(write_site(tmp_path, good_site()))
    changed = load_site(write_site(tmp_path, good_site() | {"detector": {"sessions": 2}}))
    assert restart_only_changes(running, changed) == ["detector.sessions"]
