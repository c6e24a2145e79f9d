"""One export: the judged incidents of a range, their kept frames labelled and split by camera-day into
the YOLO layout, with data.yaml, the card and the rule errors' truth stub.

The class map (data.yaml's names) is the model's whole map, from the sidecars: a fine-tune from the
base model then keeps its class ids (COCO's 80 heads stay, the dataset need not hold every class).
Frames kept by another model (a different map) than the newest frame's are skipped: their class ids
would mean other things.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from aibrain.dataset.card import DatasetCard, ExampleRow, SkippedRow, write_card
from aibrain.dataset.layout import example_name, prepare_out, write_data_yaml, write_example
from aibrain.dataset.sidecar import EvidenceMissing, KeptFrame, read_kept_frame
from aibrain.dataset.split import Split, assign_splits
from aibrain.dataset.truth_stub import write_truth_stub
from aibrain.dataset.verdicts import JudgedIncident, TimeRange, Verdict, judged_incidents, statuses_in
from aibrain.dataset.yolo_labels import HARD_NEGATIVE_KEEP_CONF, hard_negative_labels, positive_labels, yolo_lines
from common.redact import redact_url
from configs.load import Site


@dataclass(frozen=True)
class ExportRequest:
    span: TimeRange
    out: Path
    label_conf: float = 0.25
    val_share: float = 0.2
    force: bool = False
    command: str = "aibrain dataset export"


@dataclass(frozen=True)
class ExportResult:
    data_yaml: Path | None  # None when there was no image to export
    card: dict  # card.yaml's content
    skipped: list[SkippedRow]


def export_dataset(site: Site, sessions: sessionmaker[Session], request: ExportRequest) -> ExportResult:
    """Write the export into `request.out` (raises layout.OutRefused when that folder cannot take it)."""
    prepare_out(request.out, request.force)
    with sessions() as session:
        judged = judged_incidents(session, request.span)
        statuses = statuses_in(session, request.span)
    kept, skipped = read_frames(site, [i for i in judged if i.verdict is not Verdict.RULE_ERROR])
    class_names, kept, other_model = newest_class_map(kept)
    skipped += other_model
    tz = site.config.tz
    splits = assign_splits({(i.camera_id, i.confirmed_at.astimezone(tz).date()) for i, _ in kept}, request.val_share)
    examples = []
    for incident, frame in kept:
        sidecar = frame.sidecar
        labels = (positive_labels(sidecar, request.label_conf) if incident.verdict is Verdict.POSITIVE
                  else hard_negative_labels(sidecar))
        split = splits[(incident.camera_id, incident.confirmed_at.astimezone(tz).date())]
        name = example_name(incident.camera_id, incident.confirmed_at.astimezone(tz).strftime("%Y%m%d-%H%M%S"),
                            incident.id)
        write_example(request.out, split, name, frame.frame, yolo_lines(labels, sidecar.frame_size))
        examples.append(ExampleRow(incident, name, split, labels))
    val_folder = Split.VAL if any(e.split is Split.VAL for e in examples) else Split.TRAIN
    data_yaml = write_data_yaml(request.out, class_names, val_folder) if examples else None
    card = DatasetCard(
        command=request.command, created_at=datetime.now(UTC), tz=tz, site_file=site.file,
        database=redact_url(site.database_url()), site_model=site.config.model, span=request.span,
        label_conf=request.label_conf, val_share=request.val_share, hard_negative_keep_conf=HARD_NEGATIVE_KEEP_CONF,
        class_names=class_names, val_folder=val_folder, examples=examples, skipped=skipped,
        rule_errors=[i for i in judged if i.verdict is Verdict.RULE_ERROR], statuses=statuses)
    data = write_card(request.out, card)
    write_truth_stub(request.out, card.rule_errors, tz)
    return ExportResult(data_yaml, data, skipped)


def read_frames(site: Site, incidents: list[JudgedIncident]
                ) -> tuple[list[tuple[JudgedIncident, KeptFrame]], list[SkippedRow]]:
    kept, skipped = [], []
    for incident in incidents:
        if incident.frame is None:
            skipped.append(SkippedRow(incident, "no frame was kept (the site's evidence_frames off, or the "
                                                "incident is older than kept frames)"))
            continue
        try:
            kept.append((incident, read_kept_frame(site.path(incident.frame), incident.id, incident.camera_id)))
        except EvidenceMissing as exc:
            skipped.append(SkippedRow(incident, str(exc)))
    return kept, skipped


def newest_class_map(kept: list[tuple[JudgedIncident, KeptFrame]]
                     ) -> tuple[dict[int, str], list[tuple[JudgedIncident, KeptFrame]], list[SkippedRow]]:
    """The newest frame's class map, the frames kept with it, and the others skipped."""
    if not kept:
        return {}, [], []
    newest = max(kept, key=lambda pair: pair[0].confirmed_at)[1].sidecar.class_names
    same = [(i, f) for i, f in kept if f.sidecar.class_names == newest]
    other = [SkippedRow(i, f"sidecar {f.sidecar_path} has another model's class map than the newest frames'")
             for i, f in kept if f.sidecar.class_names != newest]
    return newest, same, other
