"""A grid worker's own actions from the phone app, on both database backends: accept, resolve with
photos and close as a false alarm move the incident as the worker's feedback does (audit row with the
person, update to the worker's queue); pressed twice they change nothing; the action key is applied
once per person; and a worker is told when a reassignment took the incident from them."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from routing.incidents.field_tables import IncidentPhoto
from routing.incidents.field_work import (
    FALSE_ALARM_LABELS,
    MAX_PHOTOS,
    FalseAlarmReason,
    FieldWork,
    ReassignedAway,
    StoredPhoto,
    check_assignee,
    first_time,
)
from routing.incidents.interventions import InterventionRefused
from routing.incidents.lifecycle import TransitionRefused
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent, IncidentStatus, ProcessedMessage
from tests.routing.helpers import DAYTIME, make_loop, wait_until
from tests.routing.test_closed_loop import TOPOLOGY, dispatched, get, incident, trail, updates
from tests.routing.test_feedback_concurrent_copies import lock_waiters
from tests.routing.test_interventions import centre, last_note

Action, Status = IncidentAction, IncidentStatus
ACTOR = "user:zhangwei"  # the worker w-day signed in to the phone app
AT = DAYTIME + timedelta(minutes=5)
KEY = "3f1c2a9e-0000-4000-8000-000000000001"


def photo(n: int) -> StoredPhoto:
    return StoredPhoto(path=f"evidence/photos/i/{n}.jpg", size_bytes=1000 + n, width=1280, height=960 - n,
                       sha256=f"{n:064x}")


def photos(sessions: sessionmaker[Session], incident_id: str) -> list[tuple[object, ...]]:
    with sessions() as session:
        rows = session.scalars(select(IncidentPhoto).where(IncidentPhoto.incident_id == incident_id)
                               .order_by(IncidentPhoto.id))
        return [(p.path, p.sent_by, p.worker_id, p.at, p.size_bytes, p.width, p.height, p.sha256) for p in rows]


def test_accept_then_resolve_with_photos_is_audited_as_the_person_and_told_to_the_worker(
        sessions: sessionmaker[Session]) -> None:
    field, incident_id = FieldWork(make_loop(TOPOLOGY)), dispatched(sessions)
    with sessions() as session, session.begin():
        assert field.accept(session, get(session, incident_id), ACTOR, AT) is True
    with sessions() as session, session.begin():
        assert field.resolve(session, get(session, incident_id), ACTOR, "w-day", AT + timedelta(minutes=20),
                             "  车已挪走 ", [photo(1), photo(2)]) is True

    assert trail(sessions, incident_id)[2:] == [("accept", "dispatched", "accepted", ACTOR),
                                                ("resolve", "accepted", "resolved", ACTOR)]
    assert last_note(sessions, incident_id) == "车已挪走"
    assert incident(sessions, incident_id).resolved_at == AT + timedelta(minutes=20)
    (key1, accepted), (key2, resolved) = updates(sessions)
    assert (key1, key2) == ("worker.w-day", "worker.w-day")
    assert (accepted.action, accepted.actor, resolved.action, resolved.note) == (Action.ACCEPT, ACTOR, Action.RESOLVE,
                                                                                 "车已挪走")
    at = AT + timedelta(minutes=20)
    assert photos(sessions, incident_id) == [
        ("evidence/photos/i/1.jpg", "zhangwei", "w-day", at, 1001, 1280, 959, f"{1:064x}"),
        ("evidence/photos/i/2.jpg", "zhangwei", "w-day", at, 1002, 1280, 958, f"{2:064x}")], "user name, no 'user:'"


def test_an_accept_or_resolve_pressed_again_changes_nothing(sessions: sessionmaker[Session]) -> None:
    field, incident_id = FieldWork(make_loop(TOPOLOGY)), dispatched(sessions)
    with sessions() as session, session.begin():
        field.accept(session, get(session, incident_id), ACTOR, AT)
    with sessions() as session, session.begin():
        assert field.accept(session, get(session, incident_id), ACTOR, AT + timedelta(minutes=1)) is False
    assert len(trail(sessions, incident_id)) == 3 and len(updates(sessions)) == 1
    with sessions() as session, session.begin():
        field.resolve(session, get(session, incident_id), ACTOR, "w-day", AT, None, [photo(1)])
    with sessions() as session, session.begin():  # resolved: an accept or a resolve was done already
        inc = get(session, incident_id)
        assert field.resolve(session, inc, ACTOR, "w-day", AT, "again", [photo(3)]) is False
        assert field.accept(session, inc, ACTOR, AT) is False
    assert incident(sessions, incident_id).status is Status.RESOLVED
    assert [a for a, *_ in trail(sessions, incident_id)] == ["detect", "dispatch", "accept", "resolve"]
    assert len(updates(sessions)) == 2 and len(photos(sessions, incident_id)) == 1, "no photo of a no-op kept"


def test_a_resolve_straight_from_dispatched_takes_at_most_three_photos(sessions: sessionmaker[Session]) -> None:
    field, incident_id = FieldWork(make_loop(TOPOLOGY)), dispatched(sessions)
    refusals: list[tuple[list[StoredPhoto], str | None, str]] = [
        ([photo(n) for n in range(MAX_PHOTOS + 1)], None, "at most 3 photos, not 4"),
        ([photo(1)], "x" * 2001, "at most 2000 characters, not 2001")]
    for sent, note, message in refusals:
        with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match=message):
            field.resolve(session, get(session, incident_id), ACTOR, "w-day", AT, note, sent)
    assert incident(sessions, incident_id).status is Status.DISPATCHED
    assert photos(sessions, incident_id) == [] and updates(sessions) == []

    with sessions() as session, session.begin():
        assert field.resolve(session, get(session, incident_id), ACTOR, "w-day", AT, None,
                             [photo(n) for n in range(MAX_PHOTOS)])
    assert trail(sessions, incident_id)[-1] == ("resolve", "dispatched", "resolved", ACTOR)
    assert len(photos(sessions, incident_id)) == MAX_PHOTOS and last_note(sessions, incident_id) is None


def test_a_false_alarm_keeps_the_reason_label_and_code_and_the_workers_words(sessions: sessionmaker[Session]) -> None:
    field = FieldWork(make_loop(TOPOLOGY))
    assert set(FALSE_ALARM_LABELS) == set(FalseAlarmReason)
    cases: list[tuple[FalseAlarmReason, str | None, str]] = [
        (FalseAlarmReason.NOT_VIOLATION, " 车停在划线车位内 ", "不构成违规 (not_violation): 车停在划线车位内"),
        (FalseAlarmReason.WRONG_PLACE, None, "位置不符 (wrong_place)"),
        (FalseAlarmReason.DUPLICATE, "  ", "重复上报 (duplicate)"),
        (FalseAlarmReason.WRONG_OBJECT, "是垃圾桶", "识别错误 (wrong_object): 是垃圾桶"),
        (FalseAlarmReason.OTHER, "施工围挡，非违规", "其他 (other): 施工围挡，非违规")]
    for track_id, (reason, text, note) in enumerate(cases):
        incident_id = dispatched(sessions, track_id)
        with sessions() as session, session.begin():
            field.false_alarm(session, get(session, incident_id), ACTOR, AT, reason, text)
        assert trail(sessions, incident_id)[-1] == ("false_alarm", "dispatched", "false_alarm", ACTOR)
        assert last_note(sessions, incident_id) == note
        assert incident(sessions, incident_id).false_alarm_reason == reason.value, "the code, for the dataset export"
    assert [(key, u.action, u.status) for key, u in updates(sessions)] == [
        ("worker.w-day", Action.FALSE_ALARM, Status.FALSE_ALARM)] * len(cases)


def test_a_false_alarm_for_another_reason_needs_words_and_a_closed_incident_stays_closed(
        sessions: sessionmaker[Session]) -> None:
    field, incident_id = FieldWork(make_loop(TOPOLOGY)), dispatched(sessions)
    for text in (None, "", "   "):
        with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match="needs a reason"):
            field.false_alarm(session, get(session, incident_id), ACTOR, AT, FalseAlarmReason.OTHER, text)
    with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match="at most 2000"):
        field.false_alarm(session, get(session, incident_id), ACTOR, AT, FalseAlarmReason.DUPLICATE, "x" * 2001)
    with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match="no reason 'bogus'"):
        field.false_alarm(session, get(session, incident_id), ACTOR, AT, "bogus", None)
    assert incident(sessions, incident_id).status is Status.DISPATCHED and updates(sessions) == []

    with sessions() as session, session.begin():  # the form's plain string is a reason too
        field.false_alarm(session, get(session, incident_id), ACTOR, AT, "duplicate", None)
    assert last_note(sessions, incident_id) == "重复上报 (duplicate)"
    for attempt in (lambda s: field.false_alarm(s, get(s, incident_id), ACTOR, AT, FalseAlarmReason.DUPLICATE, None),
                    lambda s: field.accept(s, get(s, incident_id), ACTOR, AT),
                    lambda s: field.resolve(s, get(s, incident_id), ACTOR, "w-day", AT, None, [photo(1)])):
        with sessions() as session, session.begin(), pytest.raises(TransitionRefused, match="that is false_alarm"):
            attempt(session)
    assert len(trail(sessions, incident_id)) == 3 and photos(sessions, incident_id) == []


def test_an_action_key_is_applied_once_per_person(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        assert first_time(session, "zhangwei", KEY, AT) is True
    with sessions() as session, session.begin():
        assert first_time(session, "zhangwei", KEY, AT + timedelta(seconds=5)) is False, "sent again: seen"
    with sessions() as session, session.begin():
        assert first_time(session, "lina", KEY, AT) is True, "another person's key never meets this one"

    other = "d2c0a6b4-1111-4000-8000-000000000002"
    with pytest.raises(RuntimeError), sessions() as session, session.begin():
        assert first_time(session, "zhangwei", other, AT)
        raise RuntimeError("the action was refused: its transaction rolls back")
    with sessions() as session, session.begin():
        assert first_time(session, "zhangwei", other, AT) is True, "a rolled-back action may be sent again"

    for bad in ("", "short7x", "x" * 65, "has space-123", "中文中文中文中文", "slash/in/the/key", "dot.in.key1"):
        with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match="8-64 letters"):
            first_time(session, "zhangwei", bad, AT)
    with sessions() as session:
        assert session.scalars(select(ProcessedMessage.consumer)).all() == ["web"] * 3
        assert session.scalar(select(func.max(func.length(ProcessedMessage.message_id)))) <= 64


def test_check_assignee_tells_theirs_never_theirs_and_taken_away(sessions: sessionmaker[Session]) -> None:
    interventions, incident_id = centre(sessions), dispatched(sessions)
    moved, back = AT + timedelta(minutes=30), AT + timedelta(minutes=50)
    with sessions() as session:
        assert check_assignee(session, get(session, incident_id), "w-day") is True
        assert check_assignee(session, get(session, incident_id), "w-night") is False, "never theirs: not found"
    with sessions() as session, session.begin():
        interventions.reassign(session, get(session, incident_id), "w-night", "user:centre", moved, "张三 is ill")

    with sessions() as session:
        inc = get(session, incident_id)
        assert check_assignee(session, inc, "w-night") is True
        with pytest.raises(ReassignedAway, match="reassigned to another worker") as taken:
            check_assignee(session, inc, "w-day")
        assert (taken.value.incident_id, taken.value.at) == (incident_id, moved)
        assert check_assignee(session, inc, "w-ghost") is False
        reassigned = session.scalars(select(IncidentEvent).where(IncidentEvent.action == Action.REASSIGN)).one()
        assert (reassigned.from_worker_id, reassigned.actor) == ("w-day", "user:centre")
        others = select(IncidentEvent.from_worker_id).where(IncidentEvent.action != Action.REASSIGN)
        assert set(session.scalars(others)) == {None}, "only a reassignment names the worker before it"

    with sessions() as session, session.begin():  # and back: theirs again; the other one told when
        interventions.reassign(session, get(session, incident_id), "w-day", "user:centre", back, None)
    with sessions() as session:
        inc = get(session, incident_id)
        assert check_assignee(session, inc, "w-day") is True
        with pytest.raises(ReassignedAway) as taken:
            check_assignee(session, inc, "w-night")
        assert taken.value.at == back


def test_a_copy_sent_while_the_first_is_applied_waits_on_the_incident_and_is_a_duplicate(
        sessions: sessionmaker[Session]) -> None:
    """The phone API's order: lock the incident, then the key. A retry that arrives while the first copy's
    transaction is open waits for it (PostgreSQL: the row lock; SQLite: BEGIN IMMEDIATE), then sees the key."""
    field, incident_id = FieldWork(make_loop(TOPOLOGY)), dispatched(sessions)
    applied: list[bool] = []

    def press() -> None:
        with sessions() as session, session.begin():
            inc = session.get(Incident, incident_id, with_for_update=True)
            assert inc is not None
            applied.append(first_time(session, "zhangwei", KEY, AT) and field.accept(session, inc, ACTOR, AT))

    with sessions() as session, session.begin():
        press_again = threading.Thread(target=press)
        inc = session.get(Incident, incident_id, with_for_update=True)
        assert inc is not None and first_time(session, "zhangwei", KEY, AT)
        field.accept(session, inc, ACTOR, AT)
        press_again.start()
        if sessions.kw["bind"].dialect.name == "postgresql":
            assert wait_until(lambda: lock_waiters(sessions) == 1), "the retry waits on the incident's row"
        else:
            time.sleep(0.3)  # it waits in BEGIN IMMEDIATE, which SQLite does not show
    press_again.join(15)
    assert applied == [False]
    assert [a for a, *_ in trail(sessions, incident_id)] == ["detect", "dispatch", "accept"]
