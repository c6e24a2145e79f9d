"""Workers' photos in: size, count and type (from the content) checked, re-encoded as JPEG without EXIF,
stored beside the evidence.

A phone's photo carries the worker's GPS position, the phone's make and its owner's name in EXIF; none of
that may reach the workbench, so every photo is decoded and written again from its pixels alone, turned
upright first (phones store portrait shots sideways with an orientation tag). Only JPEG, PNG, WebP and
GIF (its first frame) are decoded: the type is what the bytes are, never what the name or the browser
says, and Pillow's other decoders never see a worker's upload.

>>> uploads = await read_uploads(files)  # doctest: +SKIP
>>> photos = store_photos(site, incident.id, uploads, now)  # doctest: +SKIP
>>> # ... and when the action is refused or was sent before:
>>> discard_photos(site, photos)  # doctest: +SKIP
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import io
import os
import re
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastapi import UploadFile
from PIL import Image, ImageOps

from aibrain.web.evidence_pictures import evidence_file
from configs.load import Site
from routing.incidents.field_work import MAX_PHOTOS, StoredPhoto

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # per photo
MAX_SIDE = 2560  # longest side after re-encoding (larger ones are scaled down)
MAX_PIXELS = 50_000_000  # refused before decoding: a small file can declare a huge canvas
JPEG_QUALITY = 85
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")  # Pillow's names; its JPEG opener also yields MPO
PHOTOS_FOLDER = "photos"  # inside the evidence folder
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHOWN_NAME_CHARS = 60


class PhotoRefused(ValueError):
    """An upload the action cannot take; the message (中文 / English) names the file and the limit."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code  # 413 too large, 415 not an image, 422 too many / none
        self.code = code  # "too_large" | "not_image" | "too_many" | "no_photo"


@dataclass(frozen=True)
class Upload:
    """One uploaded file as read: its name as the phone sent it (only ever shown) and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class _Encoded:
    jpeg: bytes
    width: int
    height: int


async def read_uploads(files: Sequence[UploadFile]) -> list[Upload]:
    """The uploads' bytes, each read no further than one byte over the limit so a huge upload is never
    held whole. A part with neither name nor content is a file input left empty, not a photo."""
    if len(files) > MAX_PHOTOS:
        raise _too_many(len(files))
    uploads = []
    for file in files:
        data = await file.read(MAX_PHOTO_BYTES + 1)
        if not file.filename and not data:
            continue
        upload = Upload(file.filename or "", data)
        _check_size(upload)
        uploads.append(upload)
    return uploads


def store_photos(site: Site, incident_id: str, uploads: Sequence[Upload], at: datetime,
                 min_count: int = 1) -> list[StoredPhoto]:
    """Check every upload, then write them all as JPEGs under <evidence>/photos/<incident>/; nothing is
    written when any upload is refused, and a failed write removes the ones already written."""
    if len(uploads) > MAX_PHOTOS:
        raise _too_many(len(uploads))
    if len(uploads) < min_count:
        raise PhotoRefused(422, "no_photo", f"请至少附 {min_count} 张处置后的照片 / "
                                            f"attach at least {min_count} photo(s) of the result")
    for upload in uploads:
        _check_size(upload)
    encoded = [_reencoded(upload) for upload in uploads]
    folder = photos_dir(site) / _folder_name(incident_id)
    stamp = f"{at.astimezone(UTC):%Y%m%dT%H%M%S}"
    stored: list[StoredPhoto] = []
    try:
        for photo in encoded:
            path = folder / f"{stamp}-{uuid.uuid4().hex[:8]}.jpg"
            _write_atomically(path, photo.jpeg)
            stored.append(StoredPhoto(path=_as_stored(site, path), size_bytes=len(photo.jpeg), width=photo.width,
                                      height=photo.height, sha256=hashlib.sha256(photo.jpeg).hexdigest()))
    except BaseException:
        discard_photos(site, stored)
        raise
    return stored


def discard_photos(site: Site, photos: Sequence[StoredPhoto]) -> None:
    """Remove photos stored for an action that was then refused or was a duplicate; an incident folder
    left empty goes too. Only files inside the photos folder are ever removed."""
    for photo in photos:
        found = photo_file(site, photo.path)
        if found is None:
            continue
        found.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # other photos of the incident are still there
            found.parent.rmdir()


def photos_dir(site: Site) -> Path:
    return site.path(site.config.evidence_dir) / PHOTOS_FOLDER


def photo_file(site: Site, stored: str) -> Path | None:
    """The file a stored photo path names, when it is a .jpg inside the photos folder (symbolic links
    followed); else None."""
    found = evidence_file(site, stored)
    if found is None or found.suffix != ".jpg":
        return None
    try:
        root = photos_dir(site).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return found if found.is_relative_to(root) else None


def _reencoded(upload: Upload) -> _Encoded:
    """The upload's pixels, upright, as an RGB JPEG no larger than MAX_SIDE, with none of its metadata."""
    try:
        with Image.open(io.BytesIO(upload.data), formats=ACCEPTED_FORMATS) as image:
            if image.width * image.height > MAX_PIXELS:
                raise _too_many_pixels(upload, f"{image.width}×{image.height}")
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # a JPEG decodes at 1/2, 1/4 or 1/8 size: less memory
            upright = _flattened(ImageOps.exif_transpose(image))
    except PhotoRefused:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own limit, far above ours, met while opening
        raise _too_many_pixels(upload, None) from exc
    except Exception as exc:  # noqa: BLE001 - a decoder fails on hostile bytes in many ways; each means "not an image"
        raise _not_image(upload) from exc
    upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    upright.info = {}  # no EXIF, GPS, ICC profile, XMP or comment of the original carries over
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=JPEG_QUALITY)
    return _Encoded(out.getvalue(), upright.width, upright.height)


def _flattened(image: Image.Image) -> Image.Image:
    """RGB; a transparent background (a PNG screenshot, a GIF) becomes white, not black."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def _folder_name(incident_id: str) -> str:
    """Ids are UUIDs; whatever else arrives names one folder inside photos/, of a length any disk takes."""
    return _UNSAFE.sub("_", incident_id)[:64] or "_"


def _write_atomically(path: Path, data: bytes) -> None:
    """A reader never sees half a photo: written under a temporary name in the same folder, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # on disk before the database row that names it commits
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _as_stored(site: Site, path: Path) -> str:
    """Relative to the site file's folder, as the site's own relative paths are, when it lies inside it."""
    return (path.relative_to(site.base_dir) if path.is_relative_to(site.base_dir) else path).as_posix()


def _check_size(upload: Upload) -> None:
    if len(upload.data) > MAX_PHOTO_BYTES:
        limit = MAX_PHOTO_BYTES // (1024 * 1024)
        raise PhotoRefused(413, "too_large", f"照片 {_shown(upload)} 超过 {limit} MB 的上限 / "
                                             f"photo {_shown(upload)} is larger than the {limit} MB limit")


def _too_many(count: int) -> PhotoRefused:
    return PhotoRefused(422, "too_many", f"最多附 {MAX_PHOTOS} 张照片，收到 {count} 张 / "
                                         f"at most {MAX_PHOTOS} photos, {count} sent")


def _too_many_pixels(upload: Upload, size: str | None) -> PhotoRefused:
    limit = MAX_PIXELS // 1_000_000
    chinese, english = (f"{size}，", f"{size}; ") if size else ("", "")
    return PhotoRefused(413, "too_large", f"照片 {_shown(upload)} 像素过多（{chinese}上限 {limit} 百万像素）/ "
                                          f"photo {_shown(upload)} has too many pixels ({english}the limit is "
                                          f"{limit} megapixels)")


def _not_image(upload: Upload) -> PhotoRefused:
    chinese, english = _looks_like(upload.data)
    return PhotoRefused(415, "not_image", f"照片 {_shown(upload)} 不是可用的图片（看起来是{chinese}），请拍照或选择 "
                                          f"JPEG、PNG、WebP 图片 / photo {_shown(upload)} is not a usable image (it "
                                          f"looks like {english}); take a photo or choose a JPEG, PNG or WebP one")


# What a refused upload seems to be, by its first bytes, so the worker knows what they picked.
_ISO_MEDIA_PHOTOS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif")
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF", "PDF 文档", "a PDF document"),
    (b"\xff\xd8", "损坏的 JPEG 图片", "a damaged JPEG image"),
    (b"\x89PNG", "损坏的 PNG 图片", "a damaged PNG image"),
    (b"GIF8", "损坏的 GIF 图片", "a damaged GIF image"),
    (b"BM", "BMP 图片", "a BMP image"),
    (b"II*\x00", "TIFF 图片", "a TIFF image"),
    (b"MM\x00*", "TIFF 图片", "a TIFF image"),
    (b"PK\x03\x04", "压缩包或 Office 文档", "a ZIP archive or an Office document"),
)


def _looks_like(data: bytes) -> tuple[str, str]:
    """(中文, English) words for what `data` seems to be."""
    if not data:
        return "空文件", "an empty file"
    if data[4:8] == b"ftyp":
        if data[8:12] in _ISO_MEDIA_PHOTOS:
            return ("HEIC/HEIF/AVIF 照片（请在相机设置中选“兼容性最佳”）",
                    "a HEIC/HEIF/AVIF photo (set the camera to 'Most Compatible')")
        return "视频（MP4/MOV）", "a video (MP4/MOV)"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "损坏的 WebP 图片", "a damaged WebP image"
    for signature, chinese, english in _SIGNATURES:
        if data.startswith(signature):
            return chinese, english
    try:  # incremental: a character cut at the 4 KiB mark is no reason to doubt the rest
        codecs.getincrementaldecoder("utf-8")().decode(data[:4096])
    except UnicodeDecodeError:
        return "无法识别的数据", "data of no known image type"
    return "文本", "text"


def _shown(upload: Upload) -> str:
    """The upload's name as messages show it: no folders (some browsers send them), no control
    characters, and not so long that it buries the message."""
    name = _CONTROL.sub("", re.split(r"[\\/]", upload.filename)[-1]).strip() or "(未命名 / unnamed)"
    return name if len(name) <= _SHOWN_NAME_CHARS else name[:_SHOWN_NAME_CHARS - 1] + "…"
