"""How incidents read on the pages: status and action names in Chinese and English, times in the
site's time zone, ids shown with the names the site file gives them, and which centre actions an
incident's status allows (the state machine's table decides, not the page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from configs.load import Site
from routing.assign.organisation import Organisation
from routing.incidents.field_tables import RequestStatus
from routing.incidents.lifecycle import TRANSITIONS
from routing.incidents.tables import Incident, IncidentAction, IncidentStatus

STATUS_LABELS: dict[IncidentStatus, str] = {
    IncidentStatus.DETECTED: "已发现 detected", IncidentStatus.DISPATCHED: "已派遣 dispatched",
    IncidentStatus.ACCEPTED: "已接单 accepted", IncidentStatus.RESOLVED: "已处置 resolved",
    IncidentStatus.VERIFICATION_PENDING: "待核查 pending check", IncidentStatus.VERIFIED: "核查通过 verified",
    IncidentStatus.REOPENED: "返工 reopened", IncidentStatus.FALSE_ALARM: "误报 false alarm",
}
ACTION_LABELS: dict[IncidentAction, str] = {
    IncidentAction.DETECT: "发现 detected", IncidentAction.DISPATCH: "派遣 dispatched",
    IncidentAction.ACCEPT: "接单 accepted", IncidentAction.RESOLVE: "处置 resolved",
    IncidentAction.VERIFY: "核查通过 verified", IncidentAction.REOPEN: "返工 reopened",
    IncidentAction.DEFER_VERIFICATION: "核查推迟 check deferred", IncidentAction.ESCALATE: "升级 escalated",
    IncidentAction.REASSIGN: "改派 reassigned", IncidentAction.EXTEND: "延期 extended",
    IncidentAction.FALSE_ALARM: "误报 false alarm",
    IncidentAction.REQUEST_EXTENSION: "申请延期 extension requested",
    IncidentAction.REFUSE_EXTENSION: "驳回延期 extension refused",
}
# A worker's request for more time, as the detail page names where it stands.
REQUEST_STATUS_LABELS: dict[RequestStatus, str] = {
    RequestStatus.PENDING: "待审批 pending", RequestStatus.APPROVED: "已批准 approved",
    RequestStatus.REFUSED: "已驳回 refused",
}
CENTRE_ACTIONS = (IncidentAction.REASSIGN, IncidentAction.EXTEND, IncidentAction.FALSE_ALARM,
                  IncidentAction.ESCALATE)


WORKER_ACTIONS = (IncidentAction.ACCEPT, IncidentAction.RESOLVE)


def allowed_actions(incident: Incident, worker: bool = False) -> frozenset[IncidentAction]:
    """The actions of the centre (or, for `worker`, of the incident's worker) its status allows."""
    actions = WORKER_ACTIONS if worker else CENTRE_ACTIONS
    return frozenset(action for action in actions if (incident.status, action) in TRANSITIONS)


@dataclass(frozen=True)
class SiteNames:
    """Names for the ids incidents hold, read from the site file once per page."""

    tz: ZoneInfo
    workers: dict[str, str]
    grids: dict[str, str]
    kinds: dict[str, str]
    organisation: Organisation

    @classmethod
    def of(cls, site: Site) -> SiteNames:
        return cls(tz=site.config.tz, workers={worker.id: worker.name for worker in site.config.workers},
                   grids={grid_id: grid.name for grid_id, grid in site.grids.items()},
                   kinds={code: kind.label_zh for code, kind in site.kinds.items()},
                   organisation=site.organisation())

    def when(self, at: datetime | None, seconds: bool = False) -> str:
        """An instant in the site's time zone, e.g. "2026-12-01 14:30"; "—" for none."""
        if at is None:
            return "—"
        return at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")

    def worker(self, worker_id: str | None) -> str:
        if worker_id is None:
            return "未分配 unassigned"
        name = self.workers.get(worker_id)
        return f"{name} ({worker_id})" if name else worker_id

    def grid(self, grid_id: str | None) -> str:
        if grid_id is None:
            return "无网格 no grid"
        name = self.grids.get(grid_id)
        return f"{name} ({grid_id})" if name else grid_id

    def place(self, grid_id: str | None) -> str:
        """The grid's street and community, e.g. "外滩街道 · 汇丰社区"; empty when not known."""
        if grid_id is None or grid_id not in self.grids:
            return ""
        return " · ".join(self.organisation.path(grid_id))

    def kind(self, incident: Incident) -> str:
        return incident.kind_label or self.kinds.get(incident.kind, incident.kind)

    def actor(self, actor: str) -> str:
        """An audit actor: a worker id shown with the worker's name; users and roles as they are."""
        name = self.workers.get(actor)
        return f"{name} ({actor})" if name else actor
