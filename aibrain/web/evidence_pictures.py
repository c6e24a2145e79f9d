"""Evidence pictures, served only to users whose scope holds the incident, and only from the path the
incident's own row stores: the request names an incident, never a file. That path must resolve
(symbolic links followed) to a JPEG inside the site's evidence folder; anything else is not found."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse

from aibrain.web.signed_in import Reader
from aibrain.web.workbench import Workbench, workbench
from configs.load import Site
from routing.incidents.tables import Incident

EVIDENCE_SUFFIXES = (".jpg", ".jpeg")
IncidentId = Annotated[str, PathParameter(max_length=64)]

router = APIRouter()


def evidence_file(site: Site, stored: str) -> Path | None:
    """The file a stored snapshot path names, when it is a JPEG inside the evidence folder; else None."""
    root = site.path(site.config.evidence_dir)
    try:
        real_root = root.resolve(strict=True)
        # Relative paths were written relative to the site file's folder, as the evidence folder is.
        real = site.path(stored).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, unreadable, or a symbolic link loop
        return None
    if not real.is_relative_to(real_root) or real.suffix.lower() not in EVIDENCE_SUFFIXES or not real.is_file():
        return None
    return real


@router.get("/evidence/{incident_id}", include_in_schema=False)
def evidence(incident_id: IncidentId, user: Reader, bench: Annotated[Workbench, Depends(workbench)]) -> FileResponse:
    with bench.sessions() as session:
        incident = session.get(Incident, incident_id)
        seen = incident is not None and user.sees(incident.grid_id, incident.worker_id)
        stored = incident.snapshot if incident is not None and seen else None
    found = evidence_file(bench.site, stored) if stored else None
    if found is None:
        raise HTTPException(404, "no evidence picture for this incident")
    return FileResponse(found, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})
