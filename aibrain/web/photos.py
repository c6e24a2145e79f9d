"""Workers' photos out: /photos/{id}, only to users whose scope holds the photo's incident."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
