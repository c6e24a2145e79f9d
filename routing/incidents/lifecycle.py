"""The incident state machine: which action leads from which status to which (a lookup table)."""

from __future__ import annotations

from routing.incidents.tables import IncidentAction, IncidentStatus

Status, Action = IncidentStatus, IncidentAction

# (status before, action) -> status after. A new incident (no status yet) is detected, then dispatched, in
# one commit (see routing.incidents.dispatch). Escalation keeps the status: it tells the next level.
# The command centre's actions: an extension keeps the status; a reassignment too, but an accepted
# incident goes back to dispatched, since the new worker has accepted nothing yet; a false alarm
# ends the incident from anywhere short of verified. A worker's request for more time, and its refusal,
# keep the status of an open incident.
TRANSITIONS: dict[tuple[IncidentStatus | None, IncidentAction], IncidentStatus] = {
    (None, Action.DETECT): Status.DETECTED,
    (Status.DETECTED, Action.DISPATCH): Status.DISPATCHED,
    (Status.DISPATCHED, Action.ACCEPT): Status.ACCEPTED,
    (Status.REOPENED, Action.ACCEPT): Status.ACCEPTED,
    (Status.DISPATCHED, Action.RESOLVE): Status.RESOLVED,
    (Status.ACCEPTED, Action.RESOLVE): Status.RESOLVED,
    (Status.REOPENED, Action.RESOLVE): Status.RESOLVED,
    (Status.RESOLVED, Action.VERIFY): Status.VERIFIED,
    (Status.VERIFICATION_PENDING, Action.VERIFY): Status.VERIFIED,
    (Status.RESOLVED, Action.REOPEN): Status.REOPENED,
    (Status.VERIFICATION_PENDING, Action.REOPEN): Status.REOPENED,
    (Status.RESOLVED, Action.DEFER_VERIFICATION): Status.VERIFICATION_PENDING,
    (Status.DISPATCHED, Action.ESCALATE): Status.DISPATCHED,
    (Status.ACCEPTED, Action.ESCALATE): Status.ACCEPTED,
    (Status.REOPENED, Action.ESCALATE): Status.REOPENED,
    (Status.DISPATCHED, Action.REASSIGN): Status.DISPATCHED,
    (Status.ACCEPTED, Action.REASSIGN): Status.DISPATCHED,
    (Status.REOPENED, Action.REASSIGN): Status.REOPENED,
    (Status.DISPATCHED, Action.EXTEND): Status.DISPATCHED,
    (Status.ACCEPTED, Action.EXTEND): Status.ACCEPTED,
    (Status.REOPENED, Action.EXTEND): Status.REOPENED,
    (Status.DISPATCHED, Action.FALSE_ALARM): Status.FALSE_ALARM,
    (Status.ACCEPTED, Action.FALSE_ALARM): Status.FALSE_ALARM,
    (Status.REOPENED, Action.FALSE_ALARM): Status.FALSE_ALARM,
    (Status.RESOLVED, Action.FALSE_ALARM): Status.FALSE_ALARM,
    (Status.VERIFICATION_PENDING, Action.FALSE_ALARM): Status.FALSE_ALARM,
    **{(status, action): status for status in (Status.DISPATCHED, Status.ACCEPTED, Status.REOPENED)
       for action in (Action.REQUEST_EXTENSION, Action.REFUSE_EXTENSION)},
}

# Statuses in which a person still owes an action: they have due times and can escalate.
OPEN_STATUSES = frozenset({Status.DISPATCHED, Status.ACCEPTED, Status.REOPENED})
# Statuses waiting for the camera to look again.
AWAITING_VERIFICATION = frozenset({Status.RESOLVED, Status.VERIFICATION_PENDING})
# The ends of the loop: nothing leads out of them.
CLOSED_STATUSES = frozenset({Status.VERIFIED, Status.FALSE_ALARM})


class TransitionRefused(ValueError):
    """The action is not allowed in the incident's current status."""


def next_status(current: IncidentStatus | None, action: IncidentAction) -> IncidentStatus:
    """The status `action` leads to from `current`; raises TransitionRefused if it is not allowed.

    >>> next_status(IncidentStatus.DISPATCHED, IncidentAction.ACCEPT).value
    'accepted'
    """
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        where = current.value if current is not None else "new"
        raise TransitionRefused(f"cannot {action.value} an incident that is {where}") from None


def already_done(current: IncidentStatus, action: IncidentAction) -> bool:
    """True when `action` was evidently applied already (a repeated accept or resolve is a no-op)."""
    past_resolve = AWAITING_VERIFICATION | {Status.VERIFIED}
    done = {Action.ACCEPT: past_resolve | {Status.ACCEPTED}, Action.RESOLVE: past_resolve}
    return current in done.get(action, frozenset())
