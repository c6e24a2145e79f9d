"""The worker's own record (我的记录): the month's figures and history, /m/api/record."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
