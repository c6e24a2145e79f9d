"""deploy/systemd and deploy/container, offline: `systemd-analyze verify` accepts the template unit
for a shard instance with no warning, each instance's ExecStart parses as `aibrain run --shard k/N`
with N from the environment file, and the Containerfile's instructions build a non-root image of
the package whose health check asks the site's metrics port for /healthz."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from aibrain.cli import build_parser
from tests.app.test_deploy_kubernetes import site_text, statefulset
from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "aibrain@.service"
ENV_EXAMPLE = ROOT / "deploy" / "systemd" / "aibrain.env.example"
CONTAINERFILE = ROOT / "deploy" / "container" / "Containerfile"
INSTALLED_VENV = "/opt/aibrain/.venv"


def unit_service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser["Service"]


def env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_systemd_analyze_verifies_a_shard_instance(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:  # Debian's systemd package
        unavailable("systemd-analyze", FileNotFoundError("not on PATH"))
    # verify checks that ExecStart's program exists: point the install path at this venv.
    venv = str(Path(sys.executable).parent.parent)
    (tmp_path / UNIT.name).write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED_VENV, venv),
                                      encoding="utf-8")
    verified = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / "aibrain@3.service")],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr  # an unknown key only warns


def test_the_unit_restarts_on_failure_with_hardening() -> None:
    service = unit_service()
    assert service["Restart"] == "on-failure" and service["User"] == "aibrain"
    assert service["RestartPreventExitStatus"] == "2"  # a bad site file fails again: no restart loop
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "ProtectKernelTunables", "RestrictSUIDSGID"):
        assert service[key] == "yes", key
    assert service["ProtectSystem"] == "strict" and service["StateDirectory"] == "aibrain"
    assert "PrivateDevices" not in service  # it would hide the GPU


@pytest.mark.parametrize("instance", ["0", "3"])
def test_each_instance_runs_its_shard_of_the_env_files_count(instance: str) -> None:
    shards = env_file(ENV_EXAMPLE)["AIBRAIN_SHARDS"]
    command = unit_service()["ExecStart"].replace("%i", instance).replace("${AIBRAIN_SHARDS}", shards)
    program, *argv = shlex.split(command)
    assert program == f"{INSTALLED_VENV}/bin/aibrain"
    args = build_parser().parse_args(argv)
    assert args.command == "run" and args.shard == (int(instance), int(shards))


def containerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(word.upper(), rest.strip()) for word, _, rest in (line.partition(" ") for line in lines)]


def test_the_containerfile_builds_a_non_root_image_with_a_health_check() -> None:
    instructions = containerfile()
    by_name: dict[str, list[str]] = {}
    for name, argument in instructions:
        by_name.setdefault(name, []).append(argument)
    assert instructions[0][0] == "FROM"
    assert re.fullmatch(r"\S*python:3\.11-slim-bookworm", by_name["FROM"][0])  # Debian 12
    for copied in by_name["COPY"]:
        *sources, _target = copied.split()
        assert all((ROOT / source).exists() for source in sources), copied
    [install] = [run for run in by_name["RUN"] if "pip install" in run and '".' in run]
    assert " -e " not in install  # the wheel carries the data files (test below)
    for run in by_name["RUN"]:  # the shell the build runs them with parses each
        parsed = subprocess.run(["sh", "-n", "-c", run], capture_output=True, text=True, timeout=30)
        assert parsed.returncode == 0, (run, parsed.stderr)
    pod = statefulset()["spec"]["template"]["spec"]["securityContext"]
    assert by_name["USER"] == [f"{pod['runAsUser']}:{pod['runAsGroup']}"]  # the pod runs as the image's user
    assert json.loads(by_name["ENTRYPOINT"][0]) == ["aibrain"]
    assert json.loads(by_name["CMD"][0])[0] == "run"
    port = yaml.safe_load(site_text())["metrics_port"]
    assert by_name["EXPOSE"] == [str(port)]
    [check] = by_name["HEALTHCHECK"]
    assert f"http://127.0.0.1:{port}/healthz" in check and "--fail" in check


def test_the_wheel_carries_the_data_files_the_package_reads(tmp_path: Path) -> None:
    """The image installs the wheel built from what the Containerfile copies, not the source tree: what the
    package reads beside its modules must be inside it (a file left out would fail only in the image)."""
    context = tmp_path / "context"
    for name, argument in containerfile():
        if name == "COPY":
            *sources, _target = argument.split()
            for source in sources:
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, context / source, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    (context / source).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(ROOT / source, context / source)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(context), "--no-deps", "--no-build-isolation",
                    "--quiet", "--wheel-dir", str(tmp_path)], check=True, timeout=300, cwd=tmp_path)
    [wheel] = tmp_path.glob("aibrain-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    versions = {path.name for path in (ROOT / "routing" / "incidents" / "migrations" / "versions").glob("*.py")}
    assert {f"routing/incidents/migrations/versions/{name}" for name in versions} <= names
    assert {"configs/taxonomy.yaml", "configs/examples/site.yaml", "routing/incidents/migrations/env.py",
            "routing/incidents/migrations/script.py.mako"} <= names
    for folder in ("aibrain/web/static", "aibrain/web/templates", "aibrain/replay/report/templates"):
        shipped = {path.relative_to(ROOT).as_posix() for path in (ROOT / folder).rglob("*") if path.is_file()}
        assert shipped and shipped <= names, sorted(shipped - names)[:5]
