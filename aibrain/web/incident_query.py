"""The incident list's query: filters, sort and paging read from the page's query string, always
within the user's scope, and each served by an index of migration 0004 ((column, confirmed_at) for
status, grid, worker, kind and camera; confirmed_at alone).

`extension=pending` keeps the incidents whose worker's request for more time waits for a decision
(routing's `waiting`: pending, the incident open, not reassigned since it was asked).

Paging is by offset, 50 rows a page; the count stops at COUNT_CAP, so neither a wide scope nor a
deep page scans the whole table (a list that long is narrowed with the filters, not paged through).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from routing.incidents.extension_requests import waiting
from routing.incidents.field_tables import ExtensionRequest
from routing.incidents.tables import Incident, IncidentStatus

PAGE_SIZE = 50
COUNT_CAP = 10_000  # rows counted at most: the list says "10000+" beyond
MAX_PAGE = COUNT_CAP // PAGE_SIZE
ID_PREFIX_MAX = 36


class SortKey(StrEnum):
    CONFIRMED = "confirmed_at"
    CREATED = "created_at"
    STATUS = "status"
    KIND = "kind"
    GRID = "grid"
    WORKER = "worker"


# Only these columns can be sorted on: the query string names a key, never a column.
SORT_COLUMNS: dict[SortKey, InstrumentedAttribute[Any]] = {
    SortKey.CONFIRMED: Incident.confirmed_at, SortKey.CREATED: Incident.created_at, SortKey.STATUS: Incident.status,
    SortKey.KIND: Incident.kind, SortKey.GRID: Incident.grid_id, SortKey.WORKER: Incident.worker_id,
}


class FilterProblem(ValueError):
    """A filter the page cannot apply (a malformed time, an unknown status); the message says which."""


@dataclass(frozen=True)
class IncidentFilter:
    """What the list shows: each field narrows it, None/empty leaves that dimension open.

    >>> from zoneinfo import ZoneInfo
    >>> chosen = IncidentFilter.from_params({"status": ["dispatched", "accepted"], "grid": ["G-01"],
    ...                                      "since": ["2026-12-01T08:00"], "sort": ["kind"], "dir": ["asc"]},
    ...                                     ZoneInfo("Asia/Shanghai"))
    >>> [s.value for s in chosen.statuses], chosen.grid_id, chosen.since.isoformat(), chosen.sort.value
    (['dispatched', 'accepted'], 'G-01', '2026-12-01T00:00:00+00:00', 'kind')
    >>> chosen.query_string(page=2)
    'status=dispatched&status=accepted&grid=G-01&since=2026-12-01T08%3A00&sort=kind&dir=asc&page=2'
    >>> IncidentFilter.from_params({"extension": ["pending"]}, ZoneInfo("Asia/Shanghai")).query_string()
    'extension=pending'
    """

    statuses: tuple[IncidentStatus, ...] = ()
    kind: str | None = None
    grid_id: str | None = None
    worker_id: str | None = None
    camera_id: str | None = None
    since: datetime | None = None  # aware; confirmed at or after
    until: datetime | None = None  # aware; confirmed before
    id_prefix: str | None = None
    extension_pending: bool = False  # only those with a request for more time awaiting a decision
    sort: SortKey = SortKey.CONFIRMED
    descending: bool = True
    page: int = 1
    # The times as typed (datetime-local, site time), to write back into the form and the links.
    typed: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]], tz: tzinfo) -> IncidentFilter:
        """Read the list's query string (each name to its values); FilterProblem names what is wrong."""

        def one(name: str) -> str | None:
            values = [value.strip() for value in params.get(name, ()) if value.strip()]
            return values[-1] if values else None

        try:
            statuses = tuple(dict.fromkeys(IncidentStatus(value) for value in params.get("status", ()) if value))
        except ValueError:
            raise FilterProblem(f"unknown status among {list(params.get('status', ()))}") from None
        try:
            sort = SortKey(one("sort") or SortKey.CONFIRMED)
        except ValueError:
            raise FilterProblem(f"cannot sort by {one('sort')!r}; choose one of {[k.value for k in SortKey]}") from None
        typed = {name: value for name in ("since", "until") if (value := one(name)) is not None}
        extension = one("extension")
        if extension not in (None, "pending"):
            raise FilterProblem(f"extension={extension!r}: the only choice is extension=pending")
        prefix = one("q")
        if prefix is not None and len(prefix) > ID_PREFIX_MAX:
            raise FilterProblem(f"an incident id has at most {ID_PREFIX_MAX} characters")
        return cls(statuses=statuses, kind=one("kind"), grid_id=one("grid"), worker_id=one("worker"),
                   camera_id=one("camera"), since=_local_time(typed.get("since"), tz, "from"),
                   until=_local_time(typed.get("until"), tz, "to"), id_prefix=prefix,
                   extension_pending=extension == "pending", sort=sort,
                   descending=one("dir") != "asc", page=_page(one("page")), typed=typed)

    def conditions(self) -> list[ColumnElement[bool]]:
        chosen: list[ColumnElement[bool]] = []
        if self.statuses:
            chosen.append(Incident.status.in_(self.statuses))
        for column, value in ((Incident.kind, self.kind), (Incident.grid_id, self.grid_id),
                              (Incident.worker_id, self.worker_id), (Incident.camera_id, self.camera_id)):
            if value is not None:
                chosen.append(column == value)
        if self.since is not None:
            chosen.append(Incident.confirmed_at >= self.since)
        if self.until is not None:
            chosen.append(Incident.confirmed_at < self.until)
        if self.id_prefix:
            chosen.append(Incident.id.startswith(self.id_prefix, autoescape=True))
        if self.extension_pending:
            chosen.append(exists().where(ExtensionRequest.incident_id == Incident.id, waiting()))
        return chosen

    def query_string(self, **changes: Any) -> str:
        """This filter's query string with `changes` (e.g. page=3, sort=..., descending=...) applied."""
        chosen = replace(self, **changes)
        pairs: list[tuple[str, str]] = [("status", status.value) for status in chosen.statuses]
        pairs += [(name, value) for name, value in (("kind", chosen.kind), ("grid", chosen.grid_id),
                                                    ("worker", chosen.worker_id), ("camera", chosen.camera_id),
                                                    ("since", chosen.typed.get("since")),
                                                    ("until", chosen.typed.get("until")),
                                                    ("q", chosen.id_prefix)) if value]
        if chosen.extension_pending:
            pairs.append(("extension", "pending"))
        if chosen.sort is not SortKey.CONFIRMED or not chosen.descending:
            pairs += [("sort", chosen.sort.value), ("dir", "desc" if chosen.descending else "asc")]
        if chosen.page > 1:
            pairs.append(("page", str(chosen.page)))
        return urlencode(pairs)

    def sort_link(self, key: str) -> str:
        """The query string sorting by `key`: descending first, the other way when already sorted by it."""
        sort = SortKey(key)
        descending = not self.descending if sort is self.sort else True
        return self.query_string(sort=sort, descending=descending, page=1)


@dataclass(frozen=True)
class IncidentPage:
    rows: list[Incident]
    total: int  # at most COUNT_CAP
    page: int
    extension_pending: frozenset[str] = frozenset()  # the rows' ids whose request for more time awaits a decision

    @property
    def capped(self) -> bool:
        return self.total >= COUNT_CAP

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def list_incidents(session: Session, scope: ColumnElement[bool], chosen: IncidentFilter) -> IncidentPage:
    """One page of the incidents `scope` holds that `chosen` selects, in its order."""
    where = and_(scope, *chosen.conditions())
    counted = select(func.count()).select_from(
        select(Incident.id).where(where).limit(COUNT_CAP).subquery())
    total = session.scalar(counted) or 0
    column = SORT_COLUMNS[chosen.sort]
    order = [column.desc() if chosen.descending else column.asc()]
    if chosen.sort is not SortKey.CONFIRMED:
        order.append(Incident.confirmed_at.desc() if chosen.descending else Incident.confirmed_at.asc())
    order.append(Incident.id.desc() if chosen.descending else Incident.id.asc())  # a stable order across pages
    rows = session.scalars(select(Incident).where(where).order_by(*order)
                           .offset((chosen.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    ids = [row.id for row in rows]
    awaiting = session.scalars(select(ExtensionRequest.incident_id)
                               .join(Incident, Incident.id == ExtensionRequest.incident_id)
                               .where(waiting(), Incident.id.in_(ids))).all() if ids else []
    return IncidentPage(rows=list(rows), total=total, page=chosen.page, extension_pending=frozenset(awaiting))


def extensions_awaiting(session: Session, scope: ColumnElement[bool]) -> int:
    """How many incidents in `scope` have a request for more time waiting for a decision (待审批延期)."""
    return session.scalar(select(func.count(func.distinct(ExtensionRequest.incident_id)))
                          .join(Incident, Incident.id == ExtensionRequest.incident_id)
                          .where(scope, waiting())) or 0


def _local_time(typed: str | None, tz: tzinfo, which: str) -> datetime | None:
    """A datetime-local input ("2026-12-01T08:30") read in the site's time zone."""
    if typed is None:
        return None
    try:
        local = datetime.fromisoformat(typed)
    except ValueError:
        raise FilterProblem(f"the {which} time {typed!r} is not a date and time like 2026-12-01T08:30") from None
    return (local if local.tzinfo else local.replace(tzinfo=tz)).astimezone(UTC)


def _page(typed: str | None) -> int:
    try:
        page = int(typed or 1)
    except ValueError:
        raise FilterProblem(f"page {typed!r} is not a number") from None
    if not 1 <= page <= MAX_PAGE:
        raise FilterProblem(f"pages run from 1 to {MAX_PAGE}; narrow the filters to see further")
    return page

