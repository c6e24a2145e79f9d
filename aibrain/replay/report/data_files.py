"""incidents.csv (UTF-8 with a BOM, so Excel reads the Chinese labels) and incidents.json."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from aibrain.replay.report.rows import COLUMNS

# A spreadsheet runs a cell starting with one of these as a formula; names come from site files
# and GeoJSON others write, so such text gets a leading apostrophe, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """A value as incidents.csv holds it: lists space-separated, text never read as a formula.

    >>> spreadsheet_cell("=HYPERLINK(\\"http://x\\")"), spreadsheet_cell([1.0, 2.5]), spreadsheet_cell(-3)
    ('\\'=HYPERLINK("http://x")', '1.0 2.5', -3)
    """
    text = " ".join(map(str, value)) if isinstance(value, list) else value
    return f"'{text}" if isinstance(text, str) and text.startswith(FORMULA_STARTS) else text


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    columns = list(dict.fromkeys(key for row in rows for key in row)) or list(COLUMNS)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: spreadsheet_cell(value) for key, value in row.items()})
    return path


def write_json(rows: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
