"""What a signed-in user may see of the incident store, as a query condition: the grids under their
organisation node (the district sees everything, incidents no grid holds included), or a worker's own
incidents."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from aibrain.web.signed_in import SignedIn
from routing.access.roles import Role
from routing.incidents.tables import Incident


def in_scope(user: SignedIn) -> ColumnElement[bool]:
    """A WHERE condition on `Incident` holding exactly the incidents `user.sees`."""
    if user.role is Role.WORKER:
        return Incident.worker_id == user.worker_id if user.worker_id else false()
    if user.ungridded:  # the district: everything, also incidents of grids since removed from the grids file
        return true()
    return Incident.grid_id.in_(sorted(user.grid_ids)) if user.grid_ids else false()
