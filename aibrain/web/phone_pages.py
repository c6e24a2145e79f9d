"""The grid worker's phone app (/m/): the installable page shell, its service worker and web manifest."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
