"""`${VAR}` and `${VAR:-default}` in config strings, so passwords can stay out of the YAML file."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


class UnsetVariable(KeyError):
    def __init__(self, name: str, field: str):
        super().__init__(name)
        self.name, self.field = name, field


def expand_string(text: str, field: str, environ: Mapping[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, default = match["name"], match["default"]
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise UnsetVariable(name, field)

    return _REFERENCE.sub(substitute, text)


def expand_variables(node: Any, environ: Mapping[str, str] = os.environ, field: str = "") -> Any:
    """A copy of the parsed YAML with every `${...}` in its strings replaced.

    >>> expand_variables({"url": "rtsp://admin:${PW:-x}@cam"}, {"PW": "s3"})
    {'url': 'rtsp://admin:s3@cam'}
    """
    if isinstance(node, str):
        return expand_string(node, field, environ)
    if isinstance(node, list):
        return [expand_variables(item, environ, f"{field}[{i}]") for i, item in enumerate(node)]
    if isinstance(node, dict):
        return {key: expand_variables(value, environ, f"{field}.{key}" if field else str(key))
                for key, value in node.items()}
    return node
