"""The incidents of a time range that the field has judged, and what each verdict makes of its frame.

- **Positive**: the camera's detection was right. Verified (the worker cleared it and the camera saw it
  gone), or resolved by the worker and still awaiting the camera's look (resolved,
  verification_pending) without ever having been reopened: a reopen means the camera still saw
  something there after a resolve, so the incident waits for its verification before it counts.
- **Hard negative**: closed as a false alarm because the object was not what the model said
  (`wrong_object`, 识别错误): the detector's error, which training can correct.
- **Rule error**: a false alarm for any other reason (not a violation, wrong place, duplicate, other,
  or none recorded): the object was right and the rule wrong; the frame teaches the model nothing.

Incidents still open, or reopened and not resolved again, have no verdict and are only counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from routing.incidents.false_alarms import FalseAlarmReason
from routing.incidents.lifecycle import AWAITING_VERIFICATION
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent, IncidentStatus

Status = IncidentStatus


class Verdict(StrEnum):
    POSITIVE = "positive"
    HARD_NEGATIVE = "hard_negative"
    RULE_ERROR = "rule_error"


@dataclass(frozen=True)
class JudgedIncident:
    id: str
    camera_id: str
    camera_name: str
    zone: str
    kind: str
    class_name: str
    status: IncidentStatus
    confirmed_at: datetime
    frame: str | None  # as the database stores it (relative to the site file's folder, or absolute)
    snapshot: str | None
    verdict: Verdict
    reason: str | None  # a false alarm's FalseAlarmReason code; None when none was recorded
    note: str | None  # a false alarm's note (the reason's label and the person's words)


@dataclass(frozen=True)
class TimeRange:
    since: datetime
    until: datetime | None  # exclusive; None: up to now

    def where(self) -> list:
        bounds = [Incident.confirmed_at >= self.since]
        if self.until is not None:
            bounds.append(Incident.confirmed_at < self.until)
        return bounds


def judged_incidents(session: Session, span: TimeRange) -> list[JudgedIncident]:
    """Incidents confirmed in `span` that have a verdict, oldest first."""
    reopened = select(IncidentEvent.incident_id).where(IncidentEvent.action == IncidentAction.REOPEN)
    judged = or_(Incident.status == Status.VERIFIED,
                 and_(Incident.status.in_(AWAITING_VERIFICATION), Incident.id.not_in(reopened)),
                 Incident.status == Status.FALSE_ALARM)
    # A false alarm ends the incident: it has one such event at most.
    closing = and_(IncidentEvent.incident_id == Incident.id, IncidentEvent.action == IncidentAction.FALSE_ALARM)
    rows = session.execute(select(Incident, IncidentEvent.note).outerjoin(IncidentEvent, closing)
                           .where(*span.where(), judged).order_by(Incident.confirmed_at, Incident.id))
    return [judged_incident(incident, note) for incident, note in rows]


def judged_incident(incident: Incident, note: str | None) -> JudgedIncident:
    reason = incident.false_alarm_reason if incident.status is Status.FALSE_ALARM else None
    if incident.status is not Status.FALSE_ALARM:
        verdict = Verdict.POSITIVE
    elif reason == FalseAlarmReason.WRONG_OBJECT:
        verdict = Verdict.HARD_NEGATIVE
    else:
        verdict = Verdict.RULE_ERROR
    return JudgedIncident(
        id=incident.id, camera_id=incident.camera_id, camera_name=incident.camera_name, zone=incident.zone,
        kind=incident.kind, class_name=incident.class_name, status=incident.status,
        confirmed_at=incident.confirmed_at, frame=incident.frame, snapshot=incident.snapshot, verdict=verdict,
        reason=reason, note=note if incident.status is Status.FALSE_ALARM else None)


def statuses_in(session: Session, span: TimeRange) -> dict[str, int]:
    """How many incidents confirmed in `span` are in each status, judged or not."""
    rows = session.execute(select(Incident.status, func.count()).where(*span.where()).group_by(Incident.status))
    return {status.value: count for status, count in sorted(rows, key=lambda row: row[0].value)}
