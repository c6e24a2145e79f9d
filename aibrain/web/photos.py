"""Workers' photos out: /photos/{id}, only to users whose scope holds the photo's incident. The request
names a photo row, never a file; the row's path must resolve (symbolic links followed) to a .jpg inside
the photos folder, and anything else is not found, as is a photo of an incident out of the user's sight
(a worker sees those of the incidents that are theirs now)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse

from aibrain.web.photo_intake import photo_file
from aibrain.web.signed_in import Reader
from aibrain.web.workbench import Workbench, workbench
from routing.incidents.field_tables import IncidentPhoto
from routing.incidents.tables import Incident

PhotoId = Annotated[int, PathParameter(ge=1, le=2**63 - 1)]  # a BIGINT: larger ones would fail in PostgreSQL

router = APIRouter()


@router.get("/photos/{photo_id}", include_in_schema=False)
def photo(photo_id: PhotoId, user: Reader, bench: Annotated[Workbench, Depends(workbench)]) -> FileResponse:
    with bench.sessions() as session:
        row = session.get(IncidentPhoto, photo_id)
        incident = session.get(Incident, row.incident_id) if row is not None else None
        seen = incident is not None and user.sees(incident.grid_id, incident.worker_id)
        stored = row.path if row is not None and seen else None
    found = photo_file(bench.site, stored) if stored else None
    if found is None:
        raise HTTPException(404, "no such photo")
    return FileResponse(found, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})
