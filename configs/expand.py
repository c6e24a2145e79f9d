"""`${VAR}` and `${VAR:-default}` in config strings, so passwords can stay out of the YAML file."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")

Location = tuple[int | str, ...]  # keys and list indices from the document's root, as in pydantic errors


@dataclass(frozen=True, slots=True)
class UnsetVariable:
    name: str
    loc: Location


def expand_variables(node: Any, environ: Mapping[str, str] = os.environ) -> tuple[Any, list[UnsetVariable]]:
    """A copy of the parsed YAML with every `${...}` in its strings replaced, and every reference
    to an unset variable without a default (left as written), so all of them are reported at once.

    >>> expand_variables({"url": "rtsp://admin:${PW:-x}@cam", "db": "${DB}"}, {"PW": "s3"})
    ({'url': 'rtsp://admin:s3@cam', 'db': '${DB}'}, [UnsetVariable(name='DB', loc=('db',))])
    """
    unset: list[UnsetVariable] = []

    def expand(node: Any, loc: Location) -> Any:
        if isinstance(node, str):
            return _REFERENCE.sub(lambda match: substitute(match, loc), node)
        if isinstance(node, list):
            return [expand(item, (*loc, i)) for i, item in enumerate(node)]
        if isinstance(node, dict):
            return {key: expand(value, (*loc, key)) for key, value in node.items()}
        return node

    def substitute(match: re.Match[str], loc: Location) -> str:
        name, default = match["name"], match["default"]
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        unset.append(UnsetVariable(name, loc))
        return match[0]

    return expand(node, ()), unset
