"""deploy/kubernetes, offline: every manifest is valid for a pinned Kubernetes version (strict: an
unknown field fails), the StatefulSet's pod ordinal reaches the real CLI as `--shard k/N`, the probes
hit the status server's endpoints on the site's metrics port, and the site in the ConfigMap passes
`aibrain check-config` with its passwords from the Secret's keys, and only with them."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from aibrain.cli import build_parser
from configs.load import load_site

KUBERNETES = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
# The oldest release the manifests must run on: the pod-index label is set by default since 1.28
# (beta) and GA in 1.32.
KUBERNETES_VERSION = "1.32.0"
POD_INDEX_LABEL = "metadata.labels['apps.kubernetes.io/pod-index']"
_VARIABLE = re.compile(r"\$\((?P<name>[A-Za-z_][A-Za-z0-9_]*)\)")
_SITE_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<default>:-[^}]*)?\}")


def manifests() -> dict[str, dict[str, Any]]:
    """Each resource file (not the kustomization), by file name: one document each."""
    found = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            [document] = yaml.safe_load_all(path.read_text(encoding="utf-8"))
            found[path.name] = document
    return found


def statefulset() -> dict[str, Any]:
    return manifests()["statefulset.yaml"]


def container() -> dict[str, Any]:
    [only] = statefulset()["spec"]["template"]["spec"]["containers"]
    return only


def site_text() -> str:
    return manifests()["configmap.yaml"]["data"]["site.yaml"]


def expand_kubernetes(text: str, env: dict[str, str]) -> str:
    """$(VAR) in a container's args, as the kubelet expands it from the container's env."""
    return _VARIABLE.sub(lambda m: env.get(m["name"], m[0]), text)


def pod_env(ordinal: int) -> dict[str, str]:
    """The plain env of pod `aibrain-<ordinal>`: literal values, and the ordinal label for the field
    reference that asks for it (the StatefulSet controller sets that label to the ordinal)."""
    env = {}
    for variable in container()["env"]:
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        elif variable["valueFrom"].get("fieldRef", {}).get("fieldPath") == POD_INDEX_LABEL:
            env[variable["name"]] = str(ordinal)
    return env


@pytest.mark.parametrize("name", sorted(manifests()))
def test_each_manifest_is_valid_for_the_pinned_kubernetes(name: str) -> None:
    kubernetes_validate.validate(manifests()[name], KUBERNETES_VERSION, strict=True)


def test_strict_validation_catches_a_misspelt_field() -> None:
    broken = copy.deepcopy(statefulset())
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"path": "/healthz"}}
    with pytest.raises(kubernetes_validate.ValidationError, match="livenesProbe"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_applies_every_resource_but_the_example_secret() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text(encoding="utf-8"))
    assert sorted(kustomization["resources"]) == sorted(set(manifests()) - {"secret.example.yaml"})


@pytest.mark.parametrize("ordinal", range(4))
def test_the_pod_ordinal_becomes_the_shard_the_cli_parses(ordinal: int) -> None:
    spec = statefulset()["spec"]
    env = pod_env(ordinal)
    argv = [expand_kubernetes(arg, env) for arg in container()["args"]]
    args = build_parser().parse_args(argv)  # the Containerfile's ENTRYPOINT is `aibrain`
    assert args.command == "run" and args.config == Path("/etc/aibrain/site.yaml")
    assert args.shard == (ordinal, spec["replicas"]), argv


def test_the_pod_runs_on_one_gpu_with_probes_on_the_health_endpoints() -> None:
    site = yaml.safe_load(site_text())
    pod = container()
    assert pod["resources"]["limits"]["nvidia.com/gpu"] == 1
    [port] = pod["ports"]
    assert port["containerPort"] == site["metrics_port"] and site["metrics_host"] == "0.0.0.0"
    assert pod["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert pod["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    service = manifests()["service.yaml"]["spec"]
    assert service["clusterIP"] == "None" and statefulset()["spec"]["serviceName"] == "aibrain"
    assert service["selector"] == statefulset()["spec"]["selector"]["matchLabels"]
    mounts = {mount["name"]: mount["mountPath"] for mount in pod["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in statefulset()["spec"]["template"]["spec"]["volumes"]}
    assert volumes["site"]["configMap"]["name"] == manifests()["configmap.yaml"]["metadata"]["name"]
    assert mounts["site"] == "/etc/aibrain" and mounts["data"] == "/var/lib/aibrain"
    assert site["model_dirs"] == [mounts["models"]]


def test_every_password_the_site_names_comes_from_the_secret() -> None:
    needed = {m["name"] for m in _SITE_REFERENCE.finditer(site_text()) if m["default"] is None}
    secret = manifests()["secret.example.yaml"]
    from_secret = {variable["name"]: variable["valueFrom"]["secretKeyRef"] for variable in container()["env"]
                   if "secretKeyRef" in variable.get("valueFrom", {})}
    assert needed == set(from_secret) and len(needed) == 3, (needed, from_secret)
    for ref in from_secret.values():
        assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"]
    # Every password in a URL of the site is a reference, none written out.
    passwords = re.findall(r"://[^:/@\s]+:([^@\s]+)@", site_text())
    assert passwords and all(_SITE_REFERENCE.fullmatch(password) for password in passwords), passwords


def check_config(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    for name, text in manifests()["configmap.yaml"]["data"].items():
        (folder / name).write_text(text, encoding="utf-8")
    clean = {name: value for name, value in os.environ.items() if not name.startswith(("AIBRAIN_", "CAMERA_"))}
    return subprocess.run([sys.executable, "-m", "aibrain", "check-config", str(folder / "site.yaml")],
                          capture_output=True, text=True, timeout=120, env=clean | env)


def test_the_configmap_site_passes_check_config_with_the_secrets(tmp_path: Path) -> None:
    secrets = {variable["name"]: "s3cret-value" for variable in container()["env"]
               if "secretKeyRef" in variable.get("valueFrom", {})}
    # AIBRAIN_DATA: the pod's volume is /var/lib/aibrain (the default); here a folder we can write.
    checked = check_config(tmp_path, secrets | {"AIBRAIN_DATA": str(tmp_path / "data")})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "camera cam-01" in checked.stdout and "camera cam-02" in checked.stdout

    unset = check_config(tmp_path, {"AIBRAIN_DATA": str(tmp_path / "data")})
    assert unset.returncode == 2, unset.stdout + unset.stderr
    for name in secrets:
        assert name in unset.stderr, unset.stderr


def test_everything_the_run_writes_lies_on_the_pods_volume(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The ConfigMap is mounted read-only: evidence (and the spool and live/ beside it) and the
    TensorRT engines must go to the data volume, not beside the site file."""
    for name, text in manifests()["configmap.yaml"]["data"].items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.delenv("AIBRAIN_DATA", raising=False)
    for variable in container()["env"]:
        monkeypatch.setenv(variable["name"], "s3cret-value")
    site = load_site(tmp_path / "site.yaml")
    data = Path(next(m["mountPath"] for m in container()["volumeMounts"] if m["name"] == "data"))
    evidence = site.path(site.config.evidence_dir)
    assert evidence.parent == data  # spool/ and live/ are its siblings
    assert site.path(site.config.detector.trt_cache_dir).parent == data
