"""A grid worker's local inbox: the alerts and updates their queue delivered, kept in a JSON file so
`aibrain worker inbox` shows pending incidents without holding messages unacknowledged."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, ValidationError

from routing.incidents.lifecycle import CLOSED_STATUSES
from routing.incidents.tables import IncidentAction, IncidentStatus, MessageType
from routing.messages.alert import AlertMessage, DueBy
from routing.messages.feedback import FeedbackAction
from routing.messages.update import IncidentUpdate

SEEN_IDS_KEPT = 10_000  # message ids remembered for de-duplication
# Saved as the messages write times ("+00:00" rather than pydantic's "Z"): the file reads as it always has.
SavedTime = Annotated[AwareDatetime, PlainSerializer(datetime.isoformat, when_used="json")]


class InboxError(ValueError):
    """A message or an id the inbox cannot use; the message says why."""


class InboxStep(BaseModel):
    """One update of an incident, as its entry's history keeps it."""

    model_config = ConfigDict(frozen=True)

    action: IncidentAction
    status: IncidentStatus
    actor: str
    at: SavedTime
    note: str | None

    @classmethod
    def of(cls, update: IncidentUpdate) -> InboxStep:
        return cls(action=update.action, status=update.status, actor=update.actor, at=update.at, note=update.note)


class InboxEntry(BaseModel):
    """One incident as the worker knows it: the alert, then the latest state the pipeline reported.

    `reassigned_to`: the command centre handed the incident to that worker, so it is no longer this
    one's (closed here; an alert for it later opens it again). `due_by`: deadlines an update moved
    (an extension, an escalation), newer than the alert's. Both are left out of the file while
    unset, so a file written before them saves as it was. Assignments are validated: a status or
    an action given as its text is kept as its enum.
    """

    model_config = ConfigDict(validate_assignment=True)

    incident_id: str
    alert: AlertMessage
    status: IncidentStatus
    updated_at: SavedTime
    history: list[InboxStep] = Field(default_factory=list)
    sent: FeedbackAction | None = None  # the last action this worker sent and has not seen confirmed yet
    reassigned_to: str | None = Field(default=None, exclude_if=lambda value: value is None)
    due_by: DueBy | None = Field(default=None, exclude_if=lambda value: value is None)

    @property
    def open(self) -> bool:
        return self.status not in CLOSED_STATUSES and self.reassigned_to is None

    @property
    def deadlines(self) -> DueBy:
        return self.due_by or self.alert.due_by


class InboxFile(BaseModel):
    """The inbox file's content: entries by incident id, and the message ids already taken."""

    entries: dict[str, InboxEntry]
    seen: list[str]


@dataclass
class WorkerInbox:
    """Loaded from and saved to `path` (atomically); applying a message twice changes nothing."""

    path: Path
    entries: dict[str, InboxEntry] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> WorkerInbox:
        if not path.exists():
            return cls(path)
        try:
            saved = InboxFile.model_validate_json(path.read_bytes())
        except (OSError, ValueError) as exc:  # ValueError: pydantic's ValidationError among them
            raise InboxError(f"{path}: not a readable inbox file ({exc}); move it away to start afresh") from exc
        return cls(path, saved.entries, saved.seen)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = InboxFile(entries=self.entries, seen=self.seen[-SEEN_IDS_KEPT:]).model_dump(mode="json")
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(payload, out, ensure_ascii=False, indent=1)
        os.replace(temporary, self.path)

    def apply(self, message_type: str | None, message_id: str | None, body: bytes) -> bool:
        """Take one delivered message; False for a copy already taken. Raises InboxError if unusable."""
        if not message_id:
            raise InboxError("message without message_id")
        if message_id in self.seen:
            return False
        try:
            if message_type == MessageType.INCIDENT_UPDATE:
                self._update(IncidentUpdate.model_validate_json(body))
            elif message_type in (MessageType.ALERT, None):
                self._alert(AlertMessage.model_validate_json(body))
            else:
                raise InboxError(f"unknown message type {message_type!r}")
        except ValidationError as exc:
            raise InboxError(f"not a valid {message_type or 'alert'} message: {exc.errors()[0]['msg']}") from None
        self.seen.append(message_id)
        return True

    def _alert(self, alert: AlertMessage) -> None:
        entry = self.entries.get(alert.incident_id)
        if entry is None:
            self.entries[alert.incident_id] = InboxEntry(
                incident_id=alert.incident_id, alert=alert, status=IncidentStatus.DISPATCHED,
                updated_at=alert.confirmed_at)
        else:  # dispatched again, or handed back after a reassignment: the alert is the newest word
            if entry.reassigned_to is not None:
                entry.status, entry.reassigned_to = IncidentStatus.DISPATCHED, None
            entry.alert, entry.due_by = alert, None

    def _update(self, update: IncidentUpdate) -> None:
        entry = self.entries.get(update.incident_id)
        if entry is None:
            return  # an update for an incident this worker never had (e.g. a colleague's, escalated)
        entry.history.append(InboxStep.of(update))
        # One queue delivers in publish order, and the relay publishes in commit order: latest wins.
        entry.status, entry.updated_at = update.status, update.at
        if update.due_by is not None:
            entry.due_by = update.due_by
        if update.action is IncidentAction.REASSIGN and update.worker_id != entry.alert.worker_id:
            entry.reassigned_to = update.worker_id  # this copy tells the worker who had it
        if entry.sent is not None and entry.sent.incident_action is update.action:
            entry.sent = None

    def pending(self) -> list[InboxEntry]:
        """Open incidents, oldest alert first."""
        return sorted((e for e in self.entries.values() if e.open), key=lambda e: e.alert.confirmed_at)

    def find(self, key: str) -> str:
        """An incident id from a list number (1-based, as `pending` lists them), an id or an id prefix."""
        pending = self.pending()
        if key.isdigit() and 1 <= int(key) <= len(pending):
            return pending[int(key) - 1].incident_id
        matches = [incident_id for incident_id in self.entries if incident_id.startswith(key)]
        if len(matches) == 1:
            return matches[0]
        if len(key) == 36:  # a full id this device has not seen: the pipeline decides
            return key
        raise InboxError(f"no single incident matches {key!r}" + (f" ({len(matches)} do)" if matches else ""))
