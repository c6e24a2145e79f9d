"""The dataset card: what an export holds and where it came from, as card.yaml (for tools, and the mark
that the folder is an export) and card.md (for people).

It counts examples per verdict, kind, camera and class, the false alarms per reason, the incidents left
out (skipped: frame or sidecar missing; rule errors: listed, not images), the date range asked and the
one found, the settings, the sources (site, database, cameras, model) and the command that made it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from aibrain.dataset.layout import CARD_MD, CARD_YAML, EXPORT_MARK, TRUTH_STUB
from aibrain.dataset.split import Split
from aibrain.dataset.verdicts import JudgedIncident, TimeRange, Verdict
from aibrain.dataset.yolo_labels import Label


@dataclass(frozen=True)
class ExampleRow:
    """One image of the export."""

    incident: JudgedIncident
    name: str
    split: Split
    labels: list[Label]


@dataclass(frozen=True)
class SkippedRow:
    incident: JudgedIncident
    why: str


@dataclass(frozen=True)
class DatasetCard:
    command: str
    created_at: datetime
    tz: ZoneInfo
    site_file: Path
    database: str  # credentials redacted
    site_model: str
    span: TimeRange
    label_conf: float
    val_share: float
    hard_negative_keep_conf: float
    class_names: dict[int, str]
    val_folder: Split  # train when there was no camera-day to hold out
    examples: list[ExampleRow]
    skipped: list[SkippedRow]
    rule_errors: list[JudgedIncident]
    statuses: dict[str, int]  # every incident of the range by status, judged or not

    def local(self, when: datetime | None) -> str | None:
        return when.astimezone(self.tz).isoformat(timespec="seconds") if when else None


def _by(rows: list[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """{group: {column: count}} from (group, column) pairs, groups and columns sorted."""
    table: dict[str, Counter[str]] = {}
    for group, column in rows:
        table.setdefault(group, Counter())[column] += 1
    return {group: dict(sorted(counts.items())) for group, counts in sorted(table.items())}


def card_data(card: DatasetCard) -> dict[str, Any]:
    """card.yaml's content; its first key marks the folder as an export."""
    judged = [(e.incident, e.incident.verdict.value) for e in card.examples]
    judged += [(s.incident, "skipped") for s in card.skipped]
    judged += [(r, r.verdict.value) for r in card.rule_errors]
    everyone = [incident for incident, _ in judged]
    boxes = [(card.class_names[label.class_id], e.split.value) for e in card.examples for label in e.labels]
    reasons = Counter(i.reason or "unrecorded" for i in everyone if i.verdict is not Verdict.POSITIVE)
    return {
        EXPORT_MARK: 1,
        "complete": True,
        "created_at": card.local(card.created_at),
        "command": card.command,
        "site": str(card.site_file),
        "database": card.database,
        "model": {"site_model": card.site_model, "classes": len(card.class_names),
                  "class_names": dict(sorted(card.class_names.items()))},
        "range": {"since": card.local(card.span.since), "until": card.local(card.span.until),
                  "first_confirmed": card.local(min((i.confirmed_at for i in everyone), default=None)),
                  "last_confirmed": card.local(max((i.confirmed_at for i in everyone), default=None))},
        "settings": {"label_conf": card.label_conf, "val_share": card.val_share,
                     "hard_negative_keep_conf": card.hard_negative_keep_conf},
        "images": {split.value: sum(e.split is split for e in card.examples) for split in Split},
        "validated_on": f"images/{card.val_folder}",
        "examples": dict(Counter(e.incident.verdict.value for e in card.examples)),
        "per_kind": _by([(i.kind, verdict) for i, verdict in judged]),
        "per_camera": _by([(f"{i.camera_id} ({i.camera_name})", verdict) for i, verdict in judged]),
        "per_class_boxes": _by(boxes),
        "false_alarm_reasons": dict(sorted(reasons.items())),
        "statuses_in_range": card.statuses,
        "skipped": [{"incident": s.incident.id, "camera": s.incident.camera_id,
                     "confirmed_at": card.local(s.incident.confirmed_at), "verdict": s.incident.verdict.value,
                     "why": s.why} for s in card.skipped],
        "rule_errors": {"count": len(card.rule_errors), "listed_in": TRUTH_STUB},
        "files": [{"image": f"images/{e.split}/{e.name}.jpg", "incident": e.incident.id,
                   "camera": e.incident.camera_id, "kind": e.incident.kind, "verdict": e.incident.verdict.value,
                   "confirmed_at": card.local(e.incident.confirmed_at), "boxes": len(e.labels)}
                  for e in card.examples],
    }


def _table(title: str, rows: dict[str, dict[str, int]]) -> list[str]:
    columns = sorted({column for counts in rows.values() for column in counts})
    if not rows:
        return [f"### {title}", "", "none", ""]
    lines = [f"### {title}", "", f"| | {' | '.join(columns)} |", f"|---|{'---|' * len(columns)}"]
    lines += [f"| {group} | {' | '.join(str(counts.get(c, 0)) for c in columns)} |" for group, counts in rows.items()]
    return [*lines, ""]


def card_markdown(data: dict[str, Any]) -> str:
    images, examples, span = data["images"], data["examples"], data["range"]
    lines = [
        "# Dataset card", "",
        f"Made {data['created_at']} by `{data['command']}`",
        f"from the incidents of site {data['site']} (database {data['database']}).", "",
        f"- Range asked: {span['since']} to {span['until'] or 'the export'}; incidents found: "
        f"{span['first_confirmed'] or '-'} to {span['last_confirmed'] or '-'}",
        f"- Images: {images['train']} train, {images['val']} val (validated on {data['validated_on']}); "
        f"{examples.get('positive', 0)} positive, {examples.get('hard_negative', 0)} hard negative",
        f"- Skipped (frame or sidecar missing or unusable): {len(data['skipped'])}; rule errors (not images, "
        f"listed in {data['rule_errors']['listed_in']}): {data['rule_errors']['count']}",
        f"- Labels: detections at confidence >= {data['settings']['label_conf']} on positives (the incident's "
        f"object always), >= {data['settings']['hard_negative_keep_conf']} on hard negatives (the incident's "
        "object left out)",
        f"- Model: {data['model']['classes']} classes (the site's model now: {data['model']['site_model']})", "",
        *_table("Per kind", data["per_kind"]),
        *_table("Per camera", data["per_camera"]),
        *_table("Boxes per class", data["per_class_boxes"]),
        *_table("False alarms per reason", {"incidents": data["false_alarm_reasons"]}),
        *_table("Incidents of the range per status", {"incidents": data["statuses_in_range"]}),
    ]
    if data["skipped"]:
        lines += ["### Skipped", "", *(f"- {s['incident']} ({s['camera']}, {s['confirmed_at']}): {s['why']}"
                                       for s in data["skipped"]), ""]
    return "\n".join(lines)


def write_card(out: Path, card: DatasetCard) -> dict[str, Any]:
    data = card_data(card)
    (out / CARD_YAML).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (out / CARD_MD).write_text(card_markdown(data), encoding="utf-8")
    return data
