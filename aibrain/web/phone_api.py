"""The phone app's JSON API (/m/api/): the worker's inbox and their actions on it, each sent once."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
