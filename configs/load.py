"""Load a site YAML: parse, validate the schema, run the cross checks, report every problem at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from configs.checks import check_context, resolve, run_checks
from configs.problems import ConfigError, ConfigProblem
from configs.schema import CameraConfig, RuleConfig, SiteConfig
from configs.taxonomy import KindSpec, ObjectFilterSpec, ResolvedRule, resolve_rule
from configs.yaml_file import read_yaml, schema_problems
from routing.assign.grids import GridMap
from routing.assign.organisation import Organisation


@dataclass(frozen=True)
class Site:
    """A validated site: the config with relative paths resolved against the file's folder."""

    file: Path
    config: SiteConfig
    grids: GridMap
    kinds: dict[str, KindSpec]  # the taxonomy with the site's own kinds and changes
    object_filters: dict[str, ObjectFilterSpec]
    _organisation: Organisation = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Built once: users' scopes are resolved against it on every web request.
        object.__setattr__(self, "_organisation", Organisation(self.config.district, self.grids))

    def organisation(self) -> Organisation:
        """The district's streets, communities and grids (区 → 街道 → 社区 → 网格)."""
        return self._organisation

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

    def resolved_rule(self, rule: RuleConfig) -> ResolvedRule:
        """The site rule with its kind's defaults filled in (valid: load_site checked it)."""
        resolved, problems = resolve_rule(self.kinds[rule.kind], rule)
        if resolved is None:
            raise ValueError(f"{self.file}: rule for {rule.kind}: {problems}")
        return resolved

    def broker_url(self) -> str | None:
        return self.config.broker.get_secret_value() if self.config.broker else None


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
    ctx, loading_problems = check_context(raw, file)
    problems += loading_problems + run_checks(raw, ctx)
    if problems or config is None or ctx.grids is None or ctx.taxonomy is None:
        raise ConfigError(problems)
    return Site(file=file, config=config, grids=ctx.grids, kinds=ctx.taxonomy.kinds,
                object_filters=ctx.taxonomy.object_filters)

