"""The web workbench's browser files ship inside the package: vendored from npm as vendor.json records them
(scripts/vendor_web_assets.py), each with its licence, and no page, style or script of ours loads anything
from another host (a command centre's network often has no internet)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from aibrain.assets import PROJECT_ROOT
from scripts.vendor_web_assets import (
    MANIFEST,
    VENDOR_DIR,
    VENDORED,
    VendorError,
    check_integrity,
    files_in_tarball,
    problems,
    read_manifest,
)

WEB = PROJECT_ROOT / "aibrain" / "web"
SCRIPT = PROJECT_ROOT / "scripts" / "vendor_web_assets.py"

# An absolute URL: http(s)://anything, or a protocol-relative //host.name (a dotted host, so that a
# `//comment` after a closing quote is not taken for one).
URL = r"(?P<url>https?://[^\s\"'`<>()\\]+|//(?:[A-Za-z0-9-]+\.)+[A-Za-z0-9-]+[^\s\"'`<>()\\]*)"
# Where a URL makes the browser fetch something: a quoted string (HTML attributes, Jinja and JS strings,
# JS imports, CSS @import and url("…")), an unquoted attribute or `url=` of a meta refresh, CSS url(…),
# and the later candidates of a srcset. Text and comments that merely mention a URL load nothing.
LOADING_CONTEXTS = [re.compile(pattern, re.IGNORECASE) for pattern in (
    rf"(?:[\"'`]|&quot;|&#39;)\s*{URL}",
    rf"\b[\w:.-]+\s*=\s*{URL}",
    rf"\burl\(\s*{URL}",
    rf"\bsrcset\s*=\s*[\"'][^\"']*,\s*{URL}",
)]
# XML namespace names look like URLs but are never fetched (inline SVG, createElementNS).
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml", "http://www.w3.org/1999/xlink",
              "http://www.w3.org/XML/1998/namespace", "http://www.w3.org/2000/xmlns/"}


def external_references(text: str) -> list[str]:
    found = {match["url"] for context in LOADING_CONTEXTS for match in context.finditer(text)}
    return sorted(found - NAMESPACES)


def our_web_files() -> list[Path]:
    """Every text file the web app serves or renders (templates, styles, scripts, wherever they live under
    aibrain/web/) except the vendored ones; its Python (which may well name a URL it refuses) is not served."""
    files = [p for p in WEB.rglob("*") if p.is_file() and not p.is_relative_to(VENDOR_DIR)
             and "__pycache__" not in p.parts and p.suffix not in {".py", ".pyc"}]
    return [p for p in files if b"\0" not in p.read_bytes()]  # fonts and pictures hold no URLs to scan


def test_vendor_json_matches_the_files_on_disk_and_the_script() -> None:
    assert problems(VENDOR_DIR) == []


def test_check_option_passes_on_the_checkout() -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "all files match vendor.json" in run.stdout


def test_a_changed_missing_or_extra_file_is_reported_by_name(tmp_path: Path) -> None:
    vendor = tmp_path / "vendor"
    shutil.copytree(VENDOR_DIR, vendor)
    with (vendor / "echarts" / "echarts.min.js").open("ab") as script:
        script.write(b";window.injected=1")
    (vendor / "echarts" / "NOTICE").unlink()
    (vendor / "echarts" / "extra.js").write_text("alert(1)")
    assert problems(vendor) == ["echarts: echarts/echarts.min.js differs from vendor.json (sha256)",
                                "echarts: echarts/NOTICE is missing",
                                "echarts/extra.js: not listed in vendor.json"]


def test_every_vendored_package_ships_a_licence_file() -> None:
    records = read_manifest(VENDOR_DIR)
    assert set(records) == {v.name for v in VENDORED}
    for record in records.values():
        assert record.license, record.name
        licences = [f for f in record.files if Path(f.path).name.startswith("LICENSE")]
        assert licences and all((VENDOR_DIR / f.path).stat().st_size > 500 for f in licences), record.name


def test_echarts_is_the_pinned_release_with_its_notice() -> None:
    records = read_manifest(VENDOR_DIR)
    echarts, zrender = records["echarts"], records["zrender"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", echarts.version), "a release, not a pre-release"
    assert echarts.tarball == f"https://registry.npmjs.org/echarts/-/echarts-{echarts.version}.tgz"
    assert echarts.integrity.startswith("sha512-")
    assert {f.path for f in echarts.files} >= {"echarts/echarts.min.js", "echarts/LICENSE", "echarts/NOTICE"}
    build = (VENDOR_DIR / "echarts" / "echarts.min.js").read_text(encoding="utf-8")
    assert re.findall(r"\.version\s*=\s*\"([^\"]+)\"", build) == [echarts.version]  # echarts.version = "…"
    assert re.findall(r"dependencies\s*=\s*\{\s*zrender\s*:\s*\"([^\"]+)\"", build) == [zrender.version]
    assert "Apache Software Foundation" in (VENDOR_DIR / "echarts" / "NOTICE").read_text()


def test_the_integrity_check_takes_the_registrys_sha512_only() -> None:
    tarball = b"not really a tarball"
    good = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    check_integrity("demo", tarball, good)
    check_integrity("demo", tarball, f"sha1-abc {good}")
    with pytest.raises(VendorError, match=r"^demo: integrity mismatch"):
        check_integrity("demo", tarball + b"!", good)
    with pytest.raises(VendorError, match=r"^demo: the registry gives no sha512"):
        check_integrity("demo", tarball, "sha1-" + base64.b64encode(hashlib.sha1(tarball).digest()).decode())


def test_files_are_read_from_below_the_tarballs_top_folder() -> None:
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w:gz") as archive:
        for name, data in {"package/LICENSE": b"licence", "package/dist/x.min.js": b"x()"}.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    tarball = packed.getvalue()
    assert files_in_tarball("demo", tarball, ["dist/x.min.js", "LICENSE"]) == {"dist/x.min.js": b"x()",
                                                                                "LICENSE": b"licence"}
    with pytest.raises(VendorError, match=r"^demo: the tarball has no NOTICE"):
        files_in_tarball("demo", tarball, ["LICENSE", "NOTICE"])


def test_vendor_json_is_what_the_script_writes() -> None:
    """Hand edits would be overwritten by the next refresh: the file is the script's output, as is."""
    text = (VENDOR_DIR / MANIFEST).read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2) + "\n"


@pytest.mark.parametrize("snippet", [
    '<script src="https://cdn.jsdelivr.net/npm/echarts@5/dist/echarts.min.js"></script>',
    "<link rel='stylesheet' href='//fonts.googleapis.com/css2?family=Noto+Sans+SC'>",
    "<SCRIPT SRC = https://unpkg.com/echarts>",
    '<link rel="preload" href="http://127.0.0.1:9000/font.woff2" as="font">',
    '<img srcset="/static/a.png 1x, https://cdn.example.com/a@2x.png 2x">',
    '<div style="background: url(&quot;https://img.example.com/a.png&quot;)"></div>',
    '<meta http-equiv="refresh" content="0; url=https://elsewhere.example.com/">',
    "<script src=\"{{ 'https://cdn.example.com/x.js' }}\"></script>",
    '@font-face { font-family: x; src: url(https://fonts.gstatic.com/s/x.woff2) format("woff2"); }',
    '@import "https://cdn.example.com/base.css";',
    "@import url( 'https://cdn.example.com/base.css' );",
    'import * as echarts from "https://esm.sh/echarts@6";',
    "const s = document.createElement('script'); s.src = `https://cdn.example.com/${name}.js`;",
    "fetch('https://api.example.com/incidents')",
])
def test_the_scan_finds_an_external_load(snippet: str) -> None:
    assert external_references(snippet), snippet


@pytest.mark.parametrize("snippet", [
    "<script src=\"{{ url_for('static', path='vendor/echarts/echarts.min.js') }}\"></script>",
    '<link rel="stylesheet" href="/static/app.css">',
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><path d="M0 0h10"/></svg>',
    'document.createElementNS("http://www.w3.org/2000/svg", "polygon")',
    '@font-face { src: url(../fonts/noto-sans-sc.woff2) format("woff2"); }',
    "// the options: https://echarts.apache.org/en/option.html",
    "<p>Charts by Apache ECharts, https://echarts.apache.org</p>",
    "const zone = 'a'; // see the zone editor",
])
def test_the_scan_leaves_local_files_namespaces_and_mentions(snippet: str) -> None:
    assert external_references(snippet) == [], snippet


def test_no_page_style_or_script_of_ours_loads_from_another_host() -> None:
    found = {str(path.relative_to(WEB)): refs for path in our_web_files()
             if (refs := external_references(path.read_text(encoding="utf-8", errors="replace")))}
    assert found == {}, "vendor what the page needs (scripts/vendor_web_assets.py) and serve it from /static"
