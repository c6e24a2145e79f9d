"""Where a site's weights and model cards are looked for: its `model_dirs`, then the user's model cache.
Apart from the `models` commands, so that assembling a run needs no command-line module."""

from __future__ import annotations

from pathlib import Path

from configs.load import Site
from detector.model_card import USER_MODEL_DIR


def model_dirs(site: Site | None) -> list[Path]:
    configured = [site.path(d) for d in site.config.model_dirs] if site else []
    return [*configured, USER_MODEL_DIR]
