"""Rooms a newcomer can find: every package's `__init__.py` lists each of its modules, subpackages and data folders,
and no two modules of the project share a file name (one `verification.py`, one `schema.py`)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "streams", "detector", "routing", "configs", "models", "aibrain")
NOT_ROOMS = {"__init__.py", "__main__.py"}


def packages() -> list[Path]:
    return sorted(init.parent for top in PACKAGES for init in (ROOT / top).rglob("__init__.py"))


def rooms(package: Path) -> list[str]:
    modules = [p.name for p in package.glob("*.py") if p.name not in NOT_ROOMS]
    # Subpackages, and data folders (templates, static files, examples) beside the modules.
    subpackages = [f"{p.name}/" for p in package.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
    data = [p.name for p in package.glob("*.yaml")] if package.name == "models" else []
    return sorted(modules + subpackages + data)


def listed_rooms(package: Path) -> set[str]:
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    names = (line.split(" — ")[0].strip() for line in docstring.splitlines() if " — " in line)
    return {name for name in names if name.endswith((".py", "/", ".yaml"))}


def test_every_package_lists_each_of_its_rooms_in_its_init_docstring() -> None:
    missing = {str(package.relative_to(ROOT)): sorted(set(rooms(package)) - listed_rooms(package))
               for package in packages()}
    assert not {package: names for package, names in missing.items() if names}


def test_every_listed_room_exists() -> None:
    stale = {str(package.relative_to(ROOT)): sorted(listed_rooms(package) - set(rooms(package)))
             for package in packages()}
    assert not {package: names for package, names in stale.items() if names}


def test_no_two_modules_share_a_file_name() -> None:
    homes: dict[str, list[str]] = defaultdict(list)
    for package in packages():
        if package.name == "versions":  # Alembic revisions are numbered, never imported by name
            continue
        for module in package.glob("*.py"):
            if module.name not in NOT_ROOMS:
                homes[module.name].append(str(module.relative_to(ROOT)))
    assert not {name: paths for name, paths in homes.items() if len(paths) > 1}
