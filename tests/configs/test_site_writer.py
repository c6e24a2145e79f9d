"""configs/site_writer.py: one camera's zones written back into the site file, everything else as it was
(comments, other cameras byte for byte, `${VAR}` strings, unicode), and the result a site that loads."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from configs.load import load_site
from configs.site_writer import SiteEditError, ZoneEdit, replace_zones

EXAMPLES = Path(__file__).resolve().parents[2] / "configs" / "examples"

SITE = """\
# 外滩街道的摄像头 — the street's cameras; keep this comment
timezone: Asia/Shanghai
grids: grids.geojson   # the example's grids
workers:
  - {id: w-001, name: 张伟, grids: [G-01, G-02], shifts: ["Mon-Sun 00:00-24:00"]}
cameras:
  - id: cam-01
    name: 汇丰购物广场东门
    url: ${CLIPS:-.}/clip.mp4        # a file played like a camera
    location: [121.472, 31.232]
    zones:
      # the plaza's sidewalk, drawn on 2026-11-30
      - name: sidewalk
        grid: G-01
        tags: [no_parking_non_motor]
        polygon: [[0.1, 0.5], [0.9, 0.5], [0.9, 0.95], [0.1, 0.95]]
        allow:
          street_vending: ["Mon-Sun 18:00-22:00"]   # 夜市
      - name: gate
        tags: [no_parking_non_motor]
        polygon: [[0.0, 0.0], [0.2, 0.0], [0.2, 0.2]]
    detect_fps: 2
  # the crossing by the market
  - id: cam-02
    name: "金陵东路口 <west>"
    url: rtsp://admin:${CAM02_PASSWORD:-pw}@192.0.2.10:554/Streaming/Channels/101
    zones:
      - {name: crossing, grid: G-02, tags: [no_parking_non_motor],
         polygon: [[0.05, 0.55], [0.95, 0.55], [0.95, 0.98], [0.05, 0.98]]}

rules:   # what counts as a violation
  - {kind: non_motor_parking, zone_tags: [no_parking_non_motor], dwell_s: 10}
"""

SIDEWALK_MOVED = ZoneEdit(name="sidewalk", grid="G-01", tags=("no_parking_non_motor",),
                          polygon=((0.1, 0.45), (0.9, 0.5), (0.9, 0.95), (0.1, 0.95)), source=0)
NEW_ZONE = ZoneEdit(name="west-sidewalk", grid="G-02", tags=("no_parking_non_motor", "night_market"),
                    polygon=((0.123456, 0.2), (0.3, 0.2), (0.3, 0.4)))


def site_folder(tmp_path: Path, text: str) -> Path:
    (tmp_path / "grids.geojson").write_text((EXAMPLES / "grids.geojson").read_text(encoding="utf-8"),
                                            encoding="utf-8")
    (tmp_path / "clip.mp4").write_bytes(b"\0")
    site = tmp_path / "site.yaml"
    site.write_text(text, encoding="utf-8")
    return site


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(lines removed, lines added)."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def test_only_the_edited_zones_change_and_the_site_loads(tmp_path: Path) -> None:
    edited = replace_zones(SITE, "cam-01", [SIDEWALK_MOVED, NEW_ZONE])
    removed, added = changed_lines(SITE, edited)
    assert removed == ["        polygon: [[0.1, 0.5], [0.9, 0.5], [0.9, 0.95], [0.1, 0.95]]",
                       "      - name: gate", "        tags: [no_parking_non_motor]",
                       "        polygon: [[0.0, 0.0], [0.2, 0.0], [0.2, 0.2]]"]
    assert added == ["        polygon: [[0.1, 0.45], [0.9, 0.5], [0.9, 0.95], [0.1, 0.95]]",
                     "      - name: west-sidewalk", "        grid: G-02",
                     "        tags: [no_parking_non_motor, night_market]",
                     "        polygon: [[0.1235, 0.2], [0.3, 0.2], [0.3, 0.4]]"]  # 4 decimals, like the zone above
    assert edited.index("  # the crossing by the market\n  - id: cam-02") > 0  # the comment before cam-02 stays
    site = load_site(site_folder(tmp_path, edited))
    zones = site.camera("cam-01").zones
    assert [zone.name for zone in zones] == ["sidewalk", "west-sidewalk"]
    assert zones[0].allow == {"street_vending": ["Mon-Sun 18:00-22:00"]}  # kept, though the editor never sent it
    assert zones[1].polygon == [(0.1235, 0.2), (0.3, 0.2), (0.3, 0.4)]
    assert site.camera_source(site.camera("cam-01")) == str(tmp_path / "clip.mp4")  # ${CLIPS:-.} still expands


def test_other_cameras_stay_byte_for_byte_with_their_variables(tmp_path: Path) -> None:
    edited = replace_zones(SITE, "cam-01", [NEW_ZONE])
    cam_02 = SITE[SITE.index("  # the crossing"):]
    assert edited.endswith(cam_02)
    assert edited.startswith(SITE[:SITE.index("    zones:")])
    assert "rtsp://admin:${CAM02_PASSWORD:-pw}@192.0.2.10" in edited
    assert "    zones:\n      # the plaza's sidewalk, drawn on 2026-11-30\n      - name: west-sidewalk\n" in edited
    site = load_site(site_folder(tmp_path, edited))
    assert [zone.name for zone in site.camera("cam-01").zones] == ["west-sidewalk"]
    assert site.camera("cam-02").name == "金陵东路口 <west>"


def test_a_zone_kept_as_it_was_keeps_its_comments_and_numbers() -> None:
    unchanged = ZoneEdit(name="crossing", grid="G-02", tags=("no_parking_non_motor",),
                         polygon=((0.05, 0.55), (0.95, 0.55), (0.95, 0.98), (0.05, 0.98)), source=0)
    edited = replace_zones(SITE, "cam-02", [unchanged, NEW_ZONE])
    removed, added = changed_lines(SITE, edited)
    # ruamel writes a flow mapping on one line; the new zone is a flow mapping like its sibling
    assert removed == ["      - {name: crossing, grid: G-02, tags: [no_parking_non_motor],",
                       "         polygon: [[0.05, 0.55], [0.95, 0.55], [0.95, 0.98], [0.05, 0.98]]}"]
    assert added == ["      - {name: crossing, grid: G-02, tags: [no_parking_non_motor], polygon: [[0.05, 0.55], "
                     "[0.95, 0.55], [0.95, 0.98], [0.05, 0.98]]}",
                     "      - {name: west-sidewalk, grid: G-02, tags: [no_parking_non_motor, night_market], "
                     "polygon: [[0.1235, 0.2], [0.3, 0.2], [0.3, 0.4]]}"]
    assert "\nrules:   # what counts as a violation\n" in edited  # the blank line and comment after it too
    assert edited.startswith(SITE[:SITE.index("      - {name: crossing")])


def test_the_worked_example_keeps_every_other_line(tmp_path: Path) -> None:
    text = (EXAMPLES / "site.yaml").read_text(encoding="utf-8")
    road = ZoneEdit(name="plaza-road", grid="G-01", tags=("no_parking_motor",),
                    polygon=((0.45, 0.5), (1.0, 0.5), (1.0, 0.92), (0.45, 0.92)), source=0)
    edited = replace_zones(text, "cam-01", [road, NEW_ZONE])
    before = text.splitlines()
    after = edited.splitlines()
    start = before.index("    zones:")
    assert after[:start + 1] == before[:start + 1]
    assert after[start + 3:] == before[start + 5:]  # two zones on four lines became two zones on two
    assert yaml.safe_load(edited)["cameras"][0]["zones"][1]["name"] == "west-sidewalk"


def test_block_style_written_by_pyyaml_with_shared_anchors(tmp_path: Path) -> None:
    polygon = [[0.05, 0.55], [0.95, 0.55], [0.95, 0.98], [0.05, 0.98]]
    cameras = [{"id": f"cam-0{n}", "name": f"路口 {n}", "url": "clip.mp4",
                "zones": [{"name": "no", "grid": "G-01", "tags": ["no_parking_non_motor"], "polygon": polygon}]}
               for n in (1, 2)]
    text = yaml.safe_dump({"grids": "grids.geojson", "cameras": cameras}, allow_unicode=True, sort_keys=False)
    assert "&id001" in text and "*id001" in text  # PyYAML shares the one list between the cameras
    kept = ZoneEdit(name="no", grid="G-01", tags=("no_parking_non_motor",), polygon=tuple(map(tuple, polygon)),
                    source=0)
    edited = replace_zones(text, "cam-01", [kept, NEW_ZONE])
    read = yaml.safe_load(edited)
    assert read["cameras"][1] == cameras[1]  # the alias still finds its anchor
    assert read["cameras"][0]["zones"][0]["name"] == "no"  # a name YAML 1.1 reads as false stays a string
    assert "  - name: west-sidewalk\n    grid: G-02\n    tags:\n    - no_parking_non_motor\n" in edited  # block style
    edited = replace_zones(text, "cam-02", [kept, NEW_ZONE])  # an alias in the block to an anchor before it
    assert "    polygon: *id001\n" in edited and yaml.safe_load(edited)["cameras"][1]["zones"][0]["polygon"] == polygon
    moved = kept.model_copy(update={"polygon": ((0.1, 0.55), (0.95, 0.55), (0.95, 0.98))})
    with pytest.raises(SiteEditError, match="YAML anchor"):
        replace_zones(text, "cam-01", [moved])  # cam-02 would move with it


@pytest.mark.parametrize("ending", ["\r\n", ""])
def test_line_endings_are_kept(ending: str) -> None:
    text = SITE.replace("\n", "\r\n") if ending else SITE[:SITE.index("\n\nrules:")]  # CRLF; no final newline
    edited = replace_zones(text, "cam-02", [NEW_ZONE])
    tail = "\r\n\r\nrules:" + text.split("\r\n\r\nrules:")[1] if ending else ""
    assert edited.endswith("polygon: [[0.1235, 0.2], [0.3, 0.2], [0.3, 0.4]]}" + tail)
    assert ("\r\n" in edited) == bool(ending) and "\r\r" not in edited
    assert yaml.safe_load(edited)["cameras"][1]["zones"][0]["name"] == "west-sidewalk"


def test_what_cannot_be_edited_faithfully_is_refused() -> None:
    with pytest.raises(SiteEditError, match="no camera 'cam-09'"):
        replace_zones(SITE, "cam-09", [NEW_ZONE])
    with pytest.raises(SiteEditError, match="reload the editor"):
        replace_zones(SITE, "cam-01", [SIDEWALK_MOVED, SIDEWALK_MOVED])  # one zone kept twice
    with pytest.raises(SiteEditError, match="reload the editor"):
        replace_zones(SITE, "cam-01", [NEW_ZONE.model_copy(update={"source": 5})])
    one_line = "cameras:\n  - {id: cam-01, url: a.mp4, zones: [{name: a, polygon: [[0, 0], [1, 0], [1, 1]]}]}\n"
    with pytest.raises(SiteEditError, match="one line"):
        replace_zones(one_line, "cam-01", [NEW_ZONE])
