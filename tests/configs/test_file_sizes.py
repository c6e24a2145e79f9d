"""Files far larger than any street needs are refused before they are parsed, with the field named:
a site file, a taxonomy it names, its grids file. (YAML alias bombs: test_bad_input.YAML_CASES.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from configs.file_size import MAX_GRIDS_BYTES, MAX_YAML_BYTES
from tests.configs.test_load_site import good_site, write_site


def check_config(path: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aibrain", "check-config", str(path)], capture_output=True,
                          text=True, timeout=120)


def grow(path: Path, size: int) -> None:
    """`path` made `size` bytes long with a YAML comment (the file stays valid YAML and JSON-free)."""
    with path.open("a", encoding="utf-8") as out:
        out.write("# " + "x" * (size - path.stat().st_size - 3) + "\n")


def test_a_site_file_over_the_cap_is_refused_unparsed(tmp_path: Path) -> None:
    path = write_site(tmp_path, good_site())
    grow(path, MAX_YAML_BYTES + 1)
    run = check_config(path)
    assert run.returncode == 2, run.stderr
    assert f"{path}: (file): the file holds more than {MAX_YAML_BYTES // 2**20} MiB" in run.stderr, run.stderr


def test_a_site_file_at_the_cap_is_read(tmp_path: Path) -> None:
    path = write_site(tmp_path, good_site())
    grow(path, MAX_YAML_BYTES)
    assert check_config(path).returncode == 0


def test_a_taxonomy_over_the_cap_is_named_by_its_field(tmp_path: Path) -> None:
    taxonomy = tmp_path / "taxonomy.yaml"
    taxonomy.write_text((Path(__file__).parents[2] / "configs" / "taxonomy.yaml").read_text(encoding="utf-8"),
                        encoding="utf-8")
    grow(taxonomy, MAX_YAML_BYTES + 1)
    run = check_config(write_site(tmp_path, good_site() | {"taxonomy": "taxonomy.yaml"}))
    assert run.returncode == 2 and ": taxonomy: (file): the file holds more than" in run.stderr, run.stderr


def test_a_grids_file_over_the_cap_is_named_by_its_field(tmp_path: Path) -> None:
    path = write_site(tmp_path, good_site())
    with (tmp_path / "grids.geojson").open("r+b") as grids:
        grids.truncate(MAX_GRIDS_BYTES + 1)  # sparse: no disk, but that many bytes to read
    run = check_config(path)
    assert run.returncode == 2, run.stderr
    assert f": grids: {tmp_path / 'grids.geojson'} holds more than {MAX_GRIDS_BYTES // 2**20} MiB" in run.stderr, \
        run.stderr


def test_a_grids_path_that_is_not_a_file_is_named(tmp_path: Path) -> None:
    run = check_config(write_site(tmp_path, good_site() | {"grids": "/dev/zero"}))
    assert run.returncode == 2 and ": grids: /dev/zero is not a regular file" in run.stderr, run.stderr
