#!/usr/bin/env python3
"""The browser files the web workbench needs, vendored from the npm registry (a command centre's network
often has no internet, so no page may load anything from a CDN).

Each package in VENDORED is fetched with `npm pack NAME@VERSION` (the machine's npm, with its registry and
proxy settings); the tarball's sha512 must equal the registry's `dist.integrity`, and only the listed files
are copied under aibrain/web/static/vendor/. vendor.json there records, per package: name, version,
licence, tarball URL, integrity, and each copied file's sha256 and size. A package whose code ships inside
another's build (`bundled_in`: ZRender inside echarts.min.js) takes the version that package depends on,
and gives its licence file.

Usage:
  .venv/bin/python scripts/vendor_web_assets.py [--package NAME] [--version VERSION]
      fetch again: each package at its version pinned in vendor.json, or NAME at VERSION (6.1.0, latest…)
  .venv/bin/python scripts/vendor_web_assets.py --check
      the files on disk are exactly those of vendor.json, byte for byte (no network)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

VENDOR_DIR = Path(__file__).resolve().parents[1] / "aibrain" / "web" / "static" / "vendor"
MANIFEST = "vendor.json"
LICENCE_NAMES = ("LICENSE", "LICENCE", "COPYING")


@dataclass(frozen=True)
class Vendored:
    """An npm package to ship: its files as {path in the package: path under vendor/}."""

    name: str
    files: Mapping[str, str]
    bundled_in: str | None = None  # the package whose build holds this one's code


# Hosts before the packages bundled in them. Adding a package is one entry.
VENDORED = (
    Vendored("echarts", {
        "dist/echarts.min.js": "echarts/echarts.min.js",
        "LICENSE": "echarts/LICENSE",
        "NOTICE": "echarts/NOTICE",
        "licenses/LICENSE-d3": "echarts/licenses/LICENSE-d3",  # ECharts' LICENSE points to it (d3 code inside)
    }),
    Vendored("zrender", {"LICENSE": "echarts/licenses/LICENSE-zrender"}, bundled_in="echarts"),
)


@dataclass(frozen=True)
class VendoredFile:
    path: str  # under vendor/
    source: str  # in the package
    sha256: str
    size: int


@dataclass(frozen=True)
class PackageRecord:
    """One package's entry in vendor.json."""

    name: str
    version: str
    license: str
    tarball: str
    integrity: str
    bundled_in: str | None
    files: list[VendoredFile]


class VendorError(RuntimeError):
    """Fetching or checking a vendored package failed; the message names the package."""


def read_manifest(vendor_dir: Path) -> dict[str, PackageRecord]:
    path = vendor_dir / MANIFEST
    if not path.is_file():
        return {}
    entries = json.loads(path.read_text(encoding="utf-8"))["packages"]
    return {entry["name"]: PackageRecord(**{**entry, "files": [VendoredFile(**f) for f in entry["files"]]})
            for entry in entries}


def write_manifest(vendor_dir: Path, records: Mapping[str, PackageRecord]) -> None:
    order = [v.name for v in VENDORED]
    packages = [asdict(records[name]) for name in sorted(records, key=order.index)]
    (vendor_dir / MANIFEST).write_text(json.dumps({"packages": packages}, indent=2) + "\n", encoding="utf-8")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def problems(vendor_dir: Path) -> list[str]:
    """What differs between vendor.json, VENDORED and the files on disk (empty when all agree)."""
    records = read_manifest(vendor_dir)
    if not records:
        return [f"{vendor_dir / MANIFEST} is missing: run scripts/vendor_web_assets.py"]
    found = [f"{name}: in vendor.json but not in VENDORED" for name in records.keys() - {v.name for v in VENDORED}]
    for wanted in VENDORED:
        record = records.get(wanted.name)
        if record is None:
            found.append(f"{wanted.name}: in VENDORED but not vendored yet: run scripts/vendor_web_assets.py")
            continue
        if {(f.source, f.path) for f in record.files} != set(wanted.files.items()):
            found.append(f"{wanted.name}: vendor.json lists other files than VENDORED: run the script again")
        if not any(Path(f.path).name.startswith(LICENCE_NAMES) for f in record.files):
            found.append(f"{wanted.name}: no licence file among its vendored files")
        for file in record.files:
            path = vendor_dir / file.path
            if not path.is_file():
                found.append(f"{wanted.name}: {file.path} is missing")
            elif sha256_of(path.read_bytes()) != file.sha256:
                found.append(f"{wanted.name}: {file.path} differs from vendor.json (sha256)")
    listed = {file.path for record in records.values() for file in record.files} | {MANIFEST}
    on_disk = {p.relative_to(vendor_dir).as_posix() for p in vendor_dir.rglob("*") if p.is_file()}
    found += [f"{path}: not listed in vendor.json" for path in sorted(on_disk - listed)]
    return found


def npm_json(package: str, *args: str) -> Any:
    """`npm ARGS --json`, parsed; errors name the package being fetched."""
    try:
        run = subprocess.run(["npm", *args, "--json"], capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise VendorError(f"{package}: npm is not on PATH; it is needed to fetch from the npm registry") from None
    if run.returncode != 0:
        raise VendorError(f"{package}: `npm {' '.join(args)}` failed:\n{run.stderr.strip()}")
    if not run.stdout.strip():
        raise VendorError(f"{package}: `npm {' '.join(args)}` found nothing (no such version?)")
    return json.loads(run.stdout)


def check_integrity(package: str, tarball: bytes, integrity: str) -> None:
    """The tarball's sha512 equals the registry's Subresource-Integrity string ("sha512-<base64>")."""
    expected = [h.removeprefix("sha512-") for h in integrity.split() if h.startswith("sha512-")]
    if not expected:
        raise VendorError(f"{package}: the registry gives no sha512 integrity ({integrity!r})")
    actual = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if actual not in expected:
        raise VendorError(f"{package}: integrity mismatch: the tarball is sha512-{actual}, "
                          f"the registry says {integrity}")


def files_in_tarball(package: str, tarball: bytes, sources: list[str]) -> dict[str, bytes]:
    """The contents of `sources` (paths inside the package, below the tarball's top folder)."""
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        members = {m.name.split("/", 1)[-1]: m for m in archive.getmembers() if m.isfile()}
        missing = [source for source in sources if source not in members]
        if missing:
            raise VendorError(f"{package}: the tarball has no {', '.join(missing)}")
        return {source: archive.extractfile(members[source]).read() for source in sources}  # type: ignore[union-attr]


@dataclass(frozen=True)
class Fetched:
    record: PackageRecord
    contents: dict[str, bytes]  # path under vendor/ -> bytes
    dependencies: dict[str, str]  # from its package.json


def fetch(wanted: Vendored, spec: str, scratch: Path) -> Fetched:
    """`wanted` at `spec` (a version or dist-tag) from the registry, its integrity checked."""
    view = npm_json(wanted.name, "view", f"{wanted.name}@{spec}", "version", "license", "dist.tarball",
                    "dist.integrity")
    if not isinstance(view, dict):
        raise VendorError(f"{wanted.name}: {spec!r} matches several versions (or none); give one version")
    version = view["version"]
    packed = npm_json(wanted.name, "pack", f"{wanted.name}@{version}", "--ignore-scripts",
                      "--pack-destination", str(scratch))
    tarball = (scratch / packed[0]["filename"]).read_bytes()
    check_integrity(wanted.name, tarball, view["dist.integrity"])
    found = files_in_tarball(wanted.name, tarball, [*wanted.files, "package.json"])
    manifest = json.loads(found["package.json"])
    if manifest.get("version") != version:
        raise VendorError(f"{wanted.name}: the tarball's package.json says {manifest.get('version')}, not {version}")
    files = [VendoredFile(path, source, sha256_of(found[source]), len(found[source]))
             for source, path in wanted.files.items()]
    record = PackageRecord(wanted.name, version, view.get("license", "UNKNOWN"), view["dist.tarball"],
                           view["dist.integrity"], wanted.bundled_in, files)
    return Fetched(record, {path: found[source] for source, path in wanted.files.items()},
                   manifest.get("dependencies", {}))


def refresh(vendor_dir: Path, package: str | None, version: str | None) -> list[PackageRecord]:
    """Fetch `package` (every host package when None) and those bundled in it; write them and vendor.json."""
    records = read_manifest(vendor_dir)
    chosen = [v for v in VENDORED if package in (None, v.name, v.bundled_in)]
    fetched: dict[str, Fetched] = {}
    with tempfile.TemporaryDirectory(prefix="vendor-web-") as scratch:
        for wanted in chosen:
            if wanted.bundled_in:
                spec = fetched[wanted.bundled_in].dependencies.get(wanted.name)
                if spec is None:
                    raise VendorError(f"{wanted.name}: {wanted.bundled_in} no longer depends on it; "
                                      "drop it from VENDORED")
            elif version and wanted.name == package:
                spec = version
            else:
                spec = records[wanted.name].version if wanted.name in records else "latest"
            fetched[wanted.name] = fetch(wanted, spec, Path(scratch))
    # Everything fetched and checked: only now touch the tree.
    for name, got in fetched.items():
        for old in records[name].files if name in records else []:
            (vendor_dir / old.path).unlink(missing_ok=True)
        for path, data in got.contents.items():
            (vendor_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (vendor_dir / path).write_bytes(data)
        records[name] = got.record
    write_manifest(vendor_dir, records)
    return [got.record for got in fetched.values()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare the files with vendor.json; no network")
    parser.add_argument("--package", choices=[v.name for v in VENDORED if not v.bundled_in],
                        help="fetch only this package (and those bundled in it)")
    parser.add_argument("--version", help="the version (or dist-tag) to pin; needs --package when several")
    args = parser.parse_args()
    if args.check:
        found = problems(VENDOR_DIR)
        for problem in found:
            print(problem, file=sys.stderr)
        print(f"{VENDOR_DIR}: {'problems above' if found else 'all files match vendor.json'}")
        return 1 if found else 0
    hosts = [v.name for v in VENDORED if not v.bundled_in]
    package = args.package or (hosts[0] if args.version and len(hosts) == 1 else None)
    if args.version and package is None:
        parser.error(f"--version needs --package (one of {', '.join(hosts)})")
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    try:
        for record in refresh(VENDOR_DIR, package, args.version):
            sizes = ", ".join(f"{f.path} {f.size:,} B" for f in record.files)
            print(f"{record.name} {record.version} ({record.license}): {sizes}")
    except VendorError as error:
        print(f"vendor_web_assets: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
