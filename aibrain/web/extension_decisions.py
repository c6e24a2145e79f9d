"""A leader's decision on a worker's request for more time: approve (the deadline moves) or refuse."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
