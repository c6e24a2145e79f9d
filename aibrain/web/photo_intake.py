"""Workers' photos in: size, count and type (from the content) checked, re-encoded as JPEG without EXIF,
stored beside the evidence."""

from __future__ import annotations
