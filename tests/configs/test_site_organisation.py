"""The site's organisation (its `district` over the grids file's streets and communities) and its `web` section."""

from __future__ import annotations

from pathlib import Path

from configs.load import load_site
from configs.schema import WebConfig
from tests.configs.test_load_site import EXAMPLES, good_site, write_site


def test_the_district_is_named_全区_unless_the_site_names_it(tmp_path: Path) -> None:
    site = load_site(write_site(tmp_path, good_site()))
    assert site.config.district == "全区"
    assert site.organisation().node("district").label == "全区"
    named = load_site(write_site(tmp_path, good_site() | {"district": " 黄浦区 "}))
    assert named.config.district == "黄浦区"


def test_the_example_site_is_one_street_of_one_community(tmp_path: Path) -> None:
    site = load_site(EXAMPLES / "site.yaml")
    org = site.organisation()
    assert org is site.organisation()  # built once: scopes are resolved against it on every request
    assert [node.key for node in org.nodes()] == [
        "district", "street:外滩街道", "community:外滩街道/汇丰社区", "grid:G-01", "grid:G-02"]
    assert org.node("district").label == "黄浦区"
    assert org.grids_under(org.node("street:外滩街道")) == set(site.grids)


def test_the_workbench_is_off_unless_the_site_has_a_web_section(tmp_path: Path) -> None:
    assert load_site(write_site(tmp_path, good_site())).config.web is None
    web = load_site(write_site(tmp_path, good_site() | {"web": {}})).config.web
    assert web == WebConfig(host="127.0.0.1", port=8080, session_idle_min=30, session_max_h=12, secure_cookies=False)
    chosen = {"host": "0.0.0.0", "port": 8443, "session_idle_min": 15, "session_max_h": 8, "secure_cookies": True}
    assert load_site(write_site(tmp_path, good_site() | {"web": chosen})).config.web == WebConfig(**chosen)
