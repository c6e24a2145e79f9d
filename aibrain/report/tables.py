"""incidents.csv (UTF-8 with a BOM, so Excel reads the Chinese labels) and incidents.json."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from aibrain.report.rows import COLUMNS


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    columns = list(dict.fromkeys(key for row in rows for key in row)) or list(COLUMNS)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: " ".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()})
    return path


def write_json(rows: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
