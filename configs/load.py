"""Load a site YAML: parse, validate the schema, run the cross checks, report every problem at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from configs.checks import CheckContext, resolve, run_checks
from configs.expand import UnsetVariable, expand_variables
from configs.problems import ConfigError, ConfigProblem
from configs.schema import CameraConfig, SiteConfig
from routing.grids import GridMap

# Which key names a list entry in field paths, so problems say "cameras[2] (cam-03)".
_ENTRY_LABELS = {"cameras": "id", "workers": "id", "zones": "name", "rules": "kind"}


@dataclass(frozen=True)
class Site:
    """A validated site: the config with relative paths resolved against the file's folder."""

    file: Path
    config: SiteConfig
    grids: GridMap

    @property
    def base_dir(self) -> Path:
        return self.file.parent

    def path(self, value: Path | str) -> Path:
        return resolve(self.base_dir, str(value))

    def camera(self, camera_id: str) -> CameraConfig:
        for camera in self.config.cameras:
            if camera.id == camera_id:
                return camera
        raise KeyError(f"{self.file}: no camera {camera_id!r} (cameras: {[c.id for c in self.config.cameras]})")

    def camera_source(self, camera: CameraConfig) -> str:
        """The camera's URL, or its file path resolved against the config's folder."""
        url = camera.url.get_secret_value()
        return url if "://" in url else str(self.path(url))

    def database_url(self) -> str:
        """The database URL; a relative SQLite path is taken relative to the config's folder."""
        url = self.config.database.get_secret_value()
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.path(url[len(prefix):]))
        return url

    def broker_url(self) -> str | None:
        return self.config.broker.get_secret_value() if self.config.broker else None


def field_path(loc: tuple[int | str, ...], raw: Any) -> str:
    """('cameras', 0, 'zones', 1, 'polygon') -> 'cameras[0] (cam-01).zones[1] (gate).polygon'."""
    parts: list[str] = []
    node = raw
    for position, key in enumerate(loc):
        if isinstance(key, int) and parts:
            node = node[key] if isinstance(node, list) and 0 <= key < len(node) else None
            label_key = _ENTRY_LABELS.get(str(loc[position - 1]))
            label = node.get(label_key) if isinstance(node, dict) and label_key else None
            parts[-1] += f"[{key}]" + (f" ({label})" if label is not None else "")
        else:
            node = node.get(key) if isinstance(node, dict) else None
            parts.append(str(key))
    return ".".join(parts)


def schema_problems(file: Path, raw: dict[str, Any], error: ValidationError) -> list[ConfigProblem]:
    # The input value is never echoed: it may be a URL holding credentials.
    return [ConfigProblem(file, field_path(tuple(e["loc"]), raw), e["msg"]) for e in error.errors()]


def read_yaml(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(file, "", f"cannot read the file: {exc}")]) from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigProblem(file, "", f"not valid YAML: {exc}")]) from exc
    if not isinstance(raw, dict):
        raise ConfigError([ConfigProblem(file, "", "the file must hold a mapping of settings")])
    try:
        return expand_variables(raw)
    except UnsetVariable as exc:
        raise ConfigError([ConfigProblem(file, exc.field, f"environment variable {exc.name} is not set "
                                         "(give it a value or a default: ${NAME:-default})")]) from exc


def load_site(file: Path | str) -> Site:
    """Validate a site file; raise ConfigError listing every problem found."""
    file = Path(file).resolve()
    raw = read_yaml(file)
    problems: list[ConfigProblem] = []
    config = None
    try:
        config = SiteConfig.model_validate(raw)
    except ValidationError as exc:
        problems += schema_problems(file, raw, exc)
    ctx = CheckContext(file=file, base_dir=file.parent)
    problems += run_checks(raw, ctx)
    if problems or config is None or ctx.grids is None:
        raise ConfigError(problems)
    return Site(file=file, config=config, grids=ctx.grids)

