"""Verification on the routing side: which resolved incidents need the camera to look again, and
what each verdict does to the incident."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from pydantic import Field, model_validator
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from detector.presence import LookSettings, PresenceCheck, PresenceResult, Verdict
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.lifecycle import AWAITING_VERIFICATION
from routing.incidents.tables import Incident, IncidentAction, IncidentStatus

VERIFIER = "verifier"  # the actor of verification's audit rows


class VerificationPolicy(LookSettings):
    """How the camera looks again after a resolve: the look's settings, handed to each check as
    they are, and what happens when no look finishes. Defined once, here: the site's
    `verification:` section is this model.

    `give_up_s`: a look not finished this long after it started means the camera could not look
    (offline): the incident becomes verification_pending and is looked at again `retry_s` later.

    >>> VerificationPolicy(look_s=20, give_up_s=90).min_frames
    3
    >>> VerificationPolicy(look_s=120, give_up_s=90)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    pydantic_core._pydantic_core.ValidationError: ...give_up_s (90) must be longer than look_s (120)...
    """

    give_up_s: float = Field(180.0, gt=0, le=86400, description="no finished look by then: verification_pending")
    retry_s: float = Field(300.0, gt=0, le=86400, description="a pending verification is tried again after this")

    @model_validator(mode="after")
    def look_fits_before_giving_up(self) -> VerificationPolicy:
        if self.give_up_s <= self.look_s:
            raise ValueError(f"give_up_s ({self.give_up_s:g}) must be longer than look_s ({self.look_s:g})")
        return self


def checks_due(session: Session, camera_ids: Collection[str], now: datetime, limit: int = 100) -> list[Incident]:
    """Resolved incidents of these cameras, and pending ones whose retry time has come."""
    query = (select(Incident)
             .where(Incident.camera_id.in_(list(camera_ids)),
                    or_(Incident.status == IncidentStatus.RESOLVED,
                        (Incident.status == IncidentStatus.VERIFICATION_PENDING) & (Incident.next_check_at <= now)))
             .order_by(Incident.resolved_at).limit(limit))
    return list(session.scalars(query))


def presence_check(incident: Incident, policy: VerificationPolicy, now: datetime) -> PresenceCheck:
    """Look where the incident's object stood, at frames from the resolve on (from now, on a retry)."""
    width, height = incident.frame_size
    x1, y1, x2, y2 = incident.bbox
    box = (max(0.0, x1 / width), max(0.0, y1 / height), min(1.0, x2 / width), min(1.0, y2 / height))
    first = incident.resolved_at if incident.status is IncidentStatus.RESOLVED and incident.resolved_at else now
    return PresenceCheck(
        check_id=incident.id, camera_id=incident.camera_id, object_kinds=frozenset({incident.object_kind}),
        box=box, not_before_ts=first.timestamp(), give_up_ts=(now + timedelta(seconds=policy.give_up_s)).timestamp(),
        look=policy)


def record_verdict(session: Session, loop: ClosedLoop, incident: Incident, result: PresenceResult,
                   policy: VerificationPolicy, now: datetime) -> IncidentStatus:
    """Gone: verified. Still there: reopened (the worker and the next level are told). No view:
    verification_pending, tried again `retry_s` later (an audit row only on entering that status).
    A verdict for an incident no longer awaiting one changes nothing."""
    if incident.status not in AWAITING_VERIFICATION:
        return incident.status
    note = result.describe()
    if result.verdict is Verdict.GONE:
        return loop.act(session, incident, IncidentAction.VERIFY, VERIFIER, now, note)
    if result.verdict is Verdict.STILL_THERE:
        return loop.act(session, incident, IncidentAction.REOPEN, VERIFIER, now, note)
    incident.verification_attempts += 1
    incident.next_check_at = now + timedelta(seconds=policy.retry_s)
    if incident.status is IncidentStatus.RESOLVED:
        loop.act(session, incident, IncidentAction.DEFER_VERIFICATION, VERIFIER, now,
                 f"{note}; trying again after {incident.next_check_at.isoformat()}")
    return incident.status
