"""Moved to evidence_pictures.py (module names are unique across the project; detector/evidence.py has
this one). Kept only until app.py imports evidence_pictures; then delete this file."""

from aibrain.web.evidence_pictures import router

__all__ = ["router"]
