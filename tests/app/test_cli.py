"""The `aibrain` command's smaller verbs, run as a user runs them."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from aibrain.assets import assets_dir
from aibrain.cli import build_parser
from aibrain.live.live_run import in_shard
from tests.configs.test_load_site import EXAMPLES


def aibrain(*args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"AIBRAIN_ASSETS": str(assets_dir())}  # the example site reads it
    return subprocess.run([sys.executable, "-m", "aibrain", *args], capture_output=True, text=True, timeout=120,
                          env=env)


def test_models_list_and_path_find_the_shared_weights(yolo_onnx: Path) -> None:
    listing = aibrain("models", "list", "--config", str(EXAMPLES / "site.yaml"))
    assert listing.returncode == 0, listing.stderr
    assert "yolov8n" in listing.stdout and "non_motor_vehicle" in listing.stdout
    # The template is listed like any card: it has no weights, and says how to get some.
    assert "custom-street-order (shipped" in listing.stdout and "is a template" in listing.stdout
    path = aibrain("models", "path", "yolov8n", "--config", str(EXAMPLES / "site.yaml"))
    assert path.returncode == 0 and Path(path.stdout.strip()).samefile(yolo_onnx)


def test_models_path_explains_how_to_get_missing_weights() -> None:
    unknown = aibrain("models", "path", "no-such-card")
    assert unknown.returncode == 1 and "no model card named 'no-such-card'" in unknown.stderr


def test_models_commands_explain_cards_they_cannot_use(tmp_path: Path) -> None:
    template = aibrain("models", "path", "custom-street-order")
    assert template.returncode == 1 and "aibrain models train" in template.stderr
    onnx_only = tmp_path / "onnx-only.yaml"
    onnx_only.write_text("name: onnx-only\ndescription: d\nweights: [m.onnx]\nlicence: MIT\nprovenance: p\n"
                         "object_kinds: {stall: stall}\n", encoding="utf-8")
    export = aibrain("models", "export", str(onnx_only))
    assert export.returncode == 1 and "names no .pt weights" in export.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nweights: [m.pt]\n", encoding="utf-8")
    for args in (["export", str(broken)], ["eval", str(broken), "--data", "d.yaml"],
                 ["list", "--model-dir", str(tmp_path)]):
        run = aibrain("models", *args)
        assert "broken.yaml is not a valid card: description: Field required" in run.stderr, args
        assert "Traceback" not in run.stderr
    assert run.returncode == 0 and "onnx-only (" in run.stdout  # `list` skips the broken card only


@pytest.mark.parametrize(("args", "message"), [
    (["export", "yolov8n", "--imgsz", "100"], "give a multiple of 32"),
    (["train", "--data", "d.yaml", "--base", "yolov8n", "--epochs", "0"], "give a number above 0"),
    (["export", "yolov8n", "--format", "engine"], "invalid choice: 'engine'"),
])
def test_models_arguments_are_checked_before_anything_runs(args: list[str], message: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["models", *args])
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_db_upgrade_creates_the_site_database(tmp_path: Path) -> None:
    for name in ("site.yaml", "grids.geojson"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    run = aibrain("db", "upgrade", "--config", str(tmp_path / "site.yaml"))
    assert run.returncode == 0, run.stderr
    with sqlite3.connect(tmp_path / "var" / "aibrain.db") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type='table'")}
    assert {"incidents", "incident_events", "outbox_messages", "camera_events"} <= tables


@pytest.mark.parametrize("count", [1, 2, 5])
def test_shards_split_cameras_exactly_once(count: int) -> None:
    cameras = [f"cam-{i:03d}" for i in range(200)]
    owners = [[k for k in range(count) if in_shard(camera, (k, count))] for camera in cameras]
    assert all(len(owner) == 1 for owner in owners)
    if count > 1:
        assert len({owner[0] for owner in owners}) == count, "every shard gets some cameras"


def test_bad_shard_is_refused() -> None:
    run = aibrain("run", "--config", str(EXAMPLES / "site.yaml"), "--shard", "3/2")
    assert run.returncode == 2 and "--shard" in run.stderr


def test_replay_of_a_path_shaped_like_a_url_does_not_echo_its_password(tmp_path: Path) -> None:
    run = aibrain("replay", "rtsp:/admin:Pa@hunter2@10.0.0.7/live", "--config", str(EXAMPLES / "site.yaml"),
                  "--camera", "cam-01")
    assert run.returncode == 2 and "no such file or folder" in run.stderr, run.stderr
    assert "hunter2" not in run.stdout + run.stderr, run.stderr



@pytest.mark.parametrize("command", [["db", "upgrade"], ["run"], ["replay", "{clip}", "--camera", "cam-01",
                                                                  "--database", "{database}"]],
                         ids=["db upgrade", "run", "replay --database"])
def test_a_database_down_at_start_is_one_line_naming_it_and_exit_1(tmp_path: Path, command: list[str],
                                                                    yolo_onnx: Path) -> None:
    from tests.configs.test_load_site import good_site, write_site
    from tests.helpers.rtsp import free_port

    port = free_port()  # nobody listens there
    database = f"postgresql+psycopg://aibrain:Pw%40S3cret@127.0.0.1:{port}/aibrain"
    site = write_site(tmp_path, good_site() | {"database": database, "model": str(yolo_onnx)})
    run = aibrain(*(word.format(clip=tmp_path / "clip.mp4", database=database) for word in command),
                  "--config", str(site))
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr and "S3cret" not in run.stdout + run.stderr, run.stderr
    [line] = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: database postgresql+psycopg://***@127.0.0.1:{port}/aibrain is unavailable: ") \
        and "Connection refused" in line, run.stderr


@pytest.mark.parametrize("args", [
    ["models", "path", "rtsp:/admin:Pa@hunter2@10.0.0.7/card.yaml"],  # echoed by the command
    ["run", "--config", "site.yaml", "--shard", "admin:Pa@hunter2@10.0.0.7"],  # echoed by argparse
    ["models", "export", "yolov8n", "--imgsz", "admin:Pa@hunter2@h"],
], ids=["a command's error", "a bad option", "an option's type"])
def test_no_command_prints_a_value_shaped_like_credentials(args: list[str]) -> None:
    run = aibrain(*args)
    assert run.returncode != 0 and run.stderr, run
    assert "hunter2" not in run.stdout + run.stderr and "***@" in run.stderr, run.stderr
