"""The phone app's JSON API (/m/api/): the worker's inbox and their actions on it, each sent once.

Every action carries an Idempotency-Key the app made when the worker pressed the button: a phone on a
poor network sends again until it hears back, and the second send is answered "duplicate" with no
effect. Each action is one transaction — the incident locked, checked to be the worker's, the key
recorded, the step applied with its audit row and outbox message. Errors answer
{"detail": "中文 (English)", "code": ...}, so the app can show the words and act on the code."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Request, UploadFile
from fastapi import Path as PathParameter
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from aibrain.web.login import client_address
from aibrain.web.phone_cards import Inbox, WorkerRef, read_inbox, status_label
from aibrain.web.photo_intake import PhotoRefused, discard_photos, read_uploads, store_photos
from aibrain.web.signed_in import Changer, Reader, SignedIn
from aibrain.web.workbench import Workbench, workbench
from routing.access import audit
from routing.access.roles import Role
from routing.incidents.field_work import (
    FalseAlarmReason,
    ReassignedAway,
    StoredPhoto,
    check_assignee,
    first_time,
    idempotency_id,
)
from routing.incidents.interventions import InterventionRefused
from routing.incidents.lifecycle import OPEN_STATUSES, TransitionRefused
from routing.incidents.tables import Incident, IncidentAction, IncidentStatus

Outcome = Literal["applied", "duplicate", "no_change"]
TEXT_MAX = 4000


class Refusal(Exception):
    """An error answer of the phone API: the status, a code the app acts on, and words for the worker."""

    def __init__(self, status_code: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status_code, self.code, self.detail = status_code, code, detail

    def response(self) -> JSONResponse:
        return JSONResponse({"detail": self.detail, "code": self.code}, status_code=self.status_code)


class PhoneRoute(APIRoute):
    """Answers every refusal as {"detail", "code"}, including those raised in the shared dependencies (the
    CSRF check) and in FastAPI's own parameter validation, which know nothing of codes."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Refusal as refused:
                return refused.response()
            except PhotoRefused as refused:
                return Refusal(refused.status_code, refused.code, str(refused)).response()
            except RequestValidationError as invalid:
                fields = "; ".join(f"{error['loc'][-1]}: {error['msg']}" for error in invalid.errors())
                return Refusal(422, "invalid", f"提交的内容有误 ({fields})").response()
            except HTTPException as refused:
                if refused.status_code != 403:
                    raise
                return Refusal(403, "csrf", f"页面已过期，请刷新后重试 ({refused.detail})").response()

        return answer


router = APIRouter(prefix="/m/api", route_class=PhoneRoute)
Bench = Annotated[Workbench, Depends(workbench)]
IncidentId = Annotated[str, PathParameter(max_length=64)]
Text = Annotated[str, Form(max_length=TEXT_MAX)]


def not_found() -> Refusal:
    # Whether the incident exists or is another worker's: a worker learns nothing of others' incidents.
    return Refusal(404, "not_found", "没有找到此事件，它不在您的待办中 (no such incident among yours)")


def only_workers(user: SignedIn) -> SignedIn:
    if user.role is not Role.WORKER or not user.worker_id:
        raise Refusal(403, "not_worker", "只有网格员可以使用手机端 (the phone app is for grid workers only)")
    return user


def _reading_worker(user: Reader) -> SignedIn:
    return only_workers(user)


def _acting_worker(user: Changer) -> SignedIn:
    return only_workers(user)


def _action_key(user: Annotated[SignedIn, Depends(_acting_worker)],
                key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> str:
    """The action's Idempotency-Key, checked before anything (photos included) is stored."""
    try:
        idempotency_id(user.username, key or "")
    except InterventionRefused:
        raise Refusal(400, "bad_key", "请求缺少有效的操作编号，请更新应用后重试 (the Idempotency-Key header must have "
                                      "8-64 letters, digits, '-' and '_')") from None
    return key or ""


WorkerReader = Annotated[SignedIn, Depends(_reading_worker)]
Worker = Annotated[SignedIn, Depends(_acting_worker)]
ActionKey = Annotated[str, Depends(_action_key)]


class Answer(BaseModel):
    outcome: Outcome
    status: IncidentStatus
    message: str


@dataclass(frozen=True)
class Step:
    """What an action did: whether anything changed, and the audit row's detail."""

    changed: bool
    detail: str


APPLIED: dict[IncidentAction, str] = {
    IncidentAction.ACCEPT: "已接单，请尽快前往处置 (accepted)",
    IncidentAction.RESOLVE: "已提交处置，摄像头将再次核查 (resolved: the camera will look again to verify)",
    IncidentAction.FALSE_ALARM: "已按误报结案 (closed as a false alarm)",
    IncidentAction.REQUEST_EXTENSION: "延期申请已提交，等待领导审批 (the request for more time waits for a decision)",
}
NO_CHANGE = "此事件已接单，无需重复操作 (accepted already: nothing changed)"
DUPLICATE = "此操作已提交过，不会重复执行 (this action was received before: nothing done twice)"
AWAITING_CHECK = "此事件已处置，正在等待摄像头核查，无需再操作 (already resolved: the camera will check it)"
CLOSED: dict[IncidentStatus, str] = {
    IncidentStatus.RESOLVED: AWAITING_CHECK, IncidentStatus.VERIFICATION_PENDING: AWAITING_CHECK,
    IncidentStatus.VERIFIED: "此事件已核查通过并结案 (verified and closed)",
    IncidentStatus.FALSE_ALARM: "此事件已按误报结案 (closed as a false alarm)",
}


@router.get("/inbox", response_model=Inbox)
def inbox(user: WorkerReader, bench: Bench) -> Inbox:
    worker_id = user.worker_id or ""
    name = next((worker.name for worker in bench.site.config.workers if worker.id == worker_id), user.display_name)
    with bench.sessions() as session:
        return read_inbox(session, bench.site, WorkerRef(id=worker_id, name=name), bench.clock())


@router.post("/incidents/{incident_id}/accept", response_model=Answer)
def accept(request: Request, incident_id: IncidentId, user: Worker, key: ActionKey, bench: Bench) -> Answer:
    def apply(session: Session, incident: Incident, at: datetime) -> Step:
        return Step(bench.field_work.accept(session, incident, user.actor, at), "")

    return act(request, bench, user, incident_id, key, IncidentAction.ACCEPT, apply)


@router.post("/incidents/{incident_id}/resolve", response_model=Answer)
async def resolve(request: Request, incident_id: IncidentId, user: Worker, key: ActionKey, bench: Bench,
                  note: Text = "", photos: Annotated[list[UploadFile], File()] = []) -> Answer:  # noqa: B006
    await run_in_threadpool(check_theirs, bench, user, incident_id)  # no photo written for another's incident
    uploads = await read_uploads(photos)
    stored = await run_in_threadpool(store_photos, bench.site, incident_id, uploads, bench.clock())

    def apply(session: Session, incident: Incident, at: datetime) -> Step:
        changed = bench.field_work.resolve(session, incident, user.actor, user.worker_id, at, note, stored)
        return Step(changed, f"{len(stored)} photo(s)" + (f": {note.strip()}" if note.strip() else ""))

    answer = await run_in_threadpool(act_keeping_photos, request, bench, user, incident_id, key, apply, stored)
    if answer.outcome == "applied":
        bench.after_resolve()
    return answer


@router.post("/incidents/{incident_id}/false-alarm", response_model=Answer)
def false_alarm(request: Request, incident_id: IncidentId, user: Worker, key: ActionKey, bench: Bench,
                reason: Annotated[FalseAlarmReason, Form()], text: Text = "") -> Answer:
    if reason is FalseAlarmReason.OTHER and not text.strip():
        raise Refusal(422, "invalid", "选择“其他”时请写明原因 (say why when the reason is 'other')")

    def apply(session: Session, incident: Incident, at: datetime) -> Step:
        bench.field_work.false_alarm(session, incident, user.actor, at, reason, text)
        return Step(True, reason.value + (f": {text.strip()}" if text.strip() else ""))

    return act(request, bench, user, incident_id, key, IncidentAction.FALSE_ALARM, apply)


@router.post("/incidents/{incident_id}/extension", response_model=Answer)
def extension(request: Request, incident_id: IncidentId, user: Worker, key: ActionKey, bench: Bench,
              minutes: Annotated[float, Form()], reason: Text = "") -> Answer:
    def apply(session: Session, incident: Incident, at: datetime) -> Step:
        asked = bench.extension_requests.request(session, incident, user.worker_id or "", user.actor, at, minutes,
                                                 reason)
        return Step(True, f"request {asked.id}: {minutes:g} min: {asked.reason}")

    return act(request, bench, user, incident_id, key, IncidentAction.REQUEST_EXTENSION, apply)


def act(request: Request, bench: Workbench, user: SignedIn, incident_id: str, key: str, action: IncidentAction,
        apply: Callable[[Session, Incident, datetime], Step]) -> Answer:
    """Run `apply` on the worker's own open incident, locked, in one transaction with its key and audit row.
    Raises Refusal: 404 not theirs, 409 reassigned or no longer open, 422 a wrong request."""
    at = bench.clock()
    status: IncidentStatus | None = None
    try:
        with bench.sessions() as session, session.begin():
            incident = session.get(Incident, incident_id, with_for_update=True)
            if incident is None or not check_assignee(session, incident, user.worker_id or ""):
                raise not_found()
            status = incident.status
            if not first_time(session, user.username, key, at):
                return Answer(outcome="duplicate", status=status, message=DUPLICATE)
            if status not in OPEN_STATUSES:  # once resolved the camera decides; a repeat is told why, not redone
                raise TransitionRefused(f"cannot {action.value} an incident that is {status.value}")
            step = apply(session, incident, at)
            audit.record(session, at, user.username, f"incident_{action.value}", f"incident:{incident_id}",
                         step.detail, address=client_address(request))
            return Answer(outcome="applied" if step.changed else "no_change", status=incident.status,
                          message=APPLIED[action] if step.changed else NO_CHANGE)
    except ReassignedAway as moved:
        raise reassigned(bench, moved) from None
    except TransitionRefused as refused:
        raise closed_or_refused(status, str(refused)) from None
    except InterventionRefused as refused:
        raise Refusal(422, "invalid", f"操作未执行，请检查填写的内容 ({refused})") from None


def check_theirs(bench: Workbench, user: SignedIn, incident_id: str) -> None:
    """Refuse at once, unlocked, what `act` refuses as not the worker's: before a resolve's photos are stored."""
    with bench.sessions() as session:
        incident = session.get(Incident, incident_id)
        try:
            if incident is None or not check_assignee(session, incident, user.worker_id or ""):
                raise not_found()
        except ReassignedAway as moved:
            raise reassigned(bench, moved) from None


def reassigned(bench: Workbench, moved: ReassignedAway) -> Refusal:
    when = moved.at.astimezone(bench.site.config.tz).strftime("%m-%d %H:%M")
    return Refusal(409, "reassigned", f"此事件已于 {when} 改派给其他网格员，此操作不再适用 (reassigned to another "
                                      f"worker at {when}: this action no longer applies)")


def closed_or_refused(status: IncidentStatus | None, english: str) -> Refusal:
    if status in CLOSED:
        return Refusal(409, "closed", CLOSED[status])
    shown = status_label(status) if status is not None else "—"
    return Refusal(409, "refused", f"此事件当前为“{shown}”，不能执行此操作 ({english})")


def act_keeping_photos(request: Request, bench: Workbench, user: SignedIn, incident_id: str, key: str,
                       apply: Callable[[Session, Incident, datetime], Step], stored: list[StoredPhoto]) -> Answer:
    """`act` for a resolve: the photos stored beforehand stay only when the resolve went through."""
    try:
        answer = act(request, bench, user, incident_id, key, IncidentAction.RESOLVE, apply)
    except BaseException:
        discard_photos(bench.site, stored)
        raise
    if answer.outcome != "applied":
        discard_photos(bench.site, stored)
    return answer

