"""A camera's `detect_url` reaches its live reader (a file taken from the site's folder); a replay of a file, or
of another url, reads only what it is given."""

from __future__ import annotations

from pathlib import Path

from aibrain.assemble import source_settings
from configs.load import load_site
from tests.configs.test_load_site import good_site, write_site

SUB = "rtsp://admin:hunter2@10.0.0.7/Streaming/Channels/102"


def test_a_live_camera_decodes_its_sub_stream(tmp_path: Path) -> None:
    site_dict = good_site()
    site_dict["cameras"][0].update(url="rtsp://admin:hunter2@10.0.0.7/Streaming/Channels/101", detect_url=SUB)
    site = load_site(write_site(tmp_path, site_dict))
    settings = source_settings(site, site.camera("cam-01"), detect_size=(640, 640))
    assert settings.detect_url == SUB and settings.decoded_url == SUB and "hunter2" not in repr(settings)


def test_a_file_sub_stream_is_taken_from_the_site_folder_and_a_replay_leaves_it_out(tmp_path: Path) -> None:
    site_dict = good_site()
    site_dict["cameras"][0]["detect_url"] = "sub.mp4"
    (tmp_path / "sub.mp4").write_bytes(b"\0")
    site = load_site(write_site(tmp_path, site_dict))
    camera = site.camera("cam-01")
    assert source_settings(site, camera).detect_url == str(tmp_path / "sub.mp4")
    assert source_settings(site, camera, replay_origin=0.0).detect_url is None
    assert source_settings(site, camera, url=str(tmp_path / "other.mp4")).detect_url is None
