"""Workers' photos: taken in only as JPEG, PNG, WebP or GIF by their content, within the size, count and
pixel limits, turned upright and re-encoded without EXIF (no GPS position leaves the phone's file), nothing
written when any upload is refused; served at /photos/{id} only to users whose scope holds the incident,
and only from inside the photos folder (SQLite and PostgreSQL where a database is involved)."""

from __future__ import annotations

import asyncio
import hashlib
import io
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import UploadFile
from PIL import ExifTags, Image, ImageCms
from sqlalchemy import select, update

from aibrain.web.photo_intake import (
    MAX_PHOTO_BYTES,
    MAX_SIDE,
    PhotoRefused,
    Upload,
    discard_photos,
    photo_file,
    photos_dir,
    read_uploads,
    store_photos,
)
from aibrain.web.workbench import Workbench
from configs.load import Site, load_site
from routing.incidents.field_tables import IncidentPhoto
from routing.incidents.tables import Incident
from tests.web.web_site import write_web_site
from tests.web.workbench_client import add_person, dispatch_incident, http_client, sign_in

AT = datetime.fromisoformat("2026-12-01T18:30:05+08:00")
RED, BLUE = (220, 20, 20), (20, 20, 220)


@pytest.fixture
def site(tmp_path: Path, pialin_street: Path) -> Site:
    """The web tests' site; storing photos opens no database."""
    return load_site(write_web_site(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}", pialin_street))


def picture(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    """Left half red, right half blue, so a turn shows in the pixels."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def phone_jpeg() -> bytes:
    """A landscape-stored portrait shot as a phone writes it: orientation 6 (turn 90° clockwise to show),
    the place it was taken in a GPS IFD, the phone's make, an ICC profile and a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (31.0, 14.0, 2.5),
                                  ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (121.0, 28.0, 9.0)}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return picture("JPEG", (80, 40), exif=exif, icc_profile=icc, comment=b"Zhang Wei's phone")


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def stored_image(site: Site, stored: str) -> tuple[bytes, Image.Image]:
    data = site.path(stored).read_bytes()
    image = Image.open(io.BytesIO(data))
    image.load()
    return data, image


def test_exif_and_gps_are_gone_and_the_photo_is_upright(site: Site) -> None:
    sent = phone_jpeg()
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input does carry GPS

    [photo] = store_photos(site, "inc-1", [Upload("IMG_0001.JPG", sent)], AT)

    data, image = stored_image(site, photo.path)
    assert image.format == "JPEG" and image.mode == "RGB"
    assert (image.width, image.height) == (photo.width, photo.height) == (40, 80)  # turned to portrait
    assert image.getpixel((20, 5)) == pytest.approx(RED, abs=30)  # the left edge is now the top
    assert image.getpixel((20, 75)) == pytest.approx(BLUE, abs=30)
    assert not image.getexif()
    assert {"exif", "icc_profile", "comment", "xmp"}.isdisjoint(image.info)
    assert b"Exif\x00\x00" not in data and b"PhoneCo" not in data and b"Zhang Wei" not in data
    assert photo.size_bytes == len(data) and photo.sha256 == hashlib.sha256(data).hexdigest()


def test_a_photo_is_stored_under_the_incident_named_by_time_relative_to_the_site(site: Site) -> None:
    [photo] = store_photos(site, "0b9e4f3a-2c1d-4e5f-8a7b-112233445566", [Upload("a.jpg", picture())], AT)

    assert not Path(photo.path).is_absolute()
    folder, name = Path(photo.path).parent, Path(photo.path).name
    assert folder == Path("var/evidence/photos/0b9e4f3a-2c1d-4e5f-8a7b-112233445566")
    assert name.startswith("20261201T103005-") and name.endswith(".jpg") and len(name) == len("20261201T103005-") + 12
    assert photo_file(site, photo.path) == site.path(photo.path).resolve()
    assert [path.name for path in site.path(folder).iterdir()] == [name]  # no temporary file left


@pytest.mark.parametrize("incident_id", ["../../etc/x", "..", "", "/", "x" * 5000])
def test_an_incident_id_never_leaves_the_photos_folder(site: Site, incident_id: str) -> None:
    [photo] = store_photos(site, incident_id, [Upload("a.jpg", picture())], AT)

    assert site.path(photo.path).resolve().parent.parent == photos_dir(site).resolve()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF"])
def test_png_webp_and_gif_come_out_as_jpeg(site: Site, fmt: str) -> None:
    [photo] = store_photos(site, "inc-1", [Upload(f"screen.{fmt.lower()}", picture(fmt))], AT)

    _, image = stored_image(site, photo.path)
    assert photo.path.endswith(".jpg") and image.format == "JPEG" and image.size == (64, 48)


def test_a_transparent_png_gets_a_white_background(site: Site) -> None:
    out = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 0, 0, 0)).save(out, "PNG")

    [photo] = store_photos(site, "inc-1", [Upload("clear.png", out.getvalue())], AT)

    assert stored_image(site, photo.path)[1].getpixel((10, 10)) == pytest.approx((255, 255, 255), abs=3)


def test_a_large_photo_is_scaled_down(site: Site) -> None:
    [photo] = store_photos(site, "inc-1", [Upload("big.jpg", picture("JPEG", (6000, 2000)))], AT)

    _, image = stored_image(site, photo.path)
    assert image.size == (photo.width, photo.height) == (MAX_SIDE, round(MAX_SIDE / 3))


def text_named_jpg() -> list[Upload]:
    return [Upload("photo.jpg", "这不是照片 — not a photo\n".encode())]


def bomb() -> list[Upload]:
    """A small PNG declaring 60 megapixels (a bilevel canvas compresses to almost nothing)."""
    out = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(out, "PNG")
    assert len(out.getvalue()) < 100_000
    return [Upload("bomb.png", out.getvalue())]


REFUSALS = {
    "not an image": (text_named_jpg, 0, 415, "not_image", ["photo.jpg", "文本", "text"]),
    "empty": (lambda: [Upload("IMG_2.jpg", b"")], 0, 415, "not_image", ["IMG_2.jpg", "空文件", "empty"]),
    "heic": (lambda: [Upload("IMG_3.HEIC", b"\x00\x00\x00\x18ftypheic" + bytes(100))], 0, 415, "not_image",
             ["IMG_3.HEIC", "HEIC"]),
    "truncated jpeg": (lambda: [Upload("cut.jpg", picture()[:200])], 0, 415, "not_image", ["cut.jpg", "JPEG"]),
    "a bmp": (lambda: [Upload("old.bmp", picture("BMP"))], 0, 415, "not_image", ["old.bmp", "BMP"]),
    "too large": (lambda: [Upload("IMG_4.jpg", bytes(MAX_PHOTO_BYTES + 1))], 0, 413, "too_large",
                  ["IMG_4.jpg", "10 MB"]),
    "too many pixels": (bomb, 0, 413, "too_large", ["bomb.png", "10000×6000", "50 megapixels"]),
    "four photos": (lambda: [Upload(f"{n}.jpg", picture()) for n in range(4)], 0, 422, "too_many", ["3", "4"]),
    "no photo": (lambda: [], 1, 422, "no_photo", ["至少", "at least 1"]),
    "one bad among good": (lambda: [Upload("good.jpg", picture()), *text_named_jpg()], 0, 415, "not_image",
                           ["photo.jpg"]),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_refused_upload_says_why_and_writes_nothing(site: Site, case: str) -> None:
    uploads, min_count, status, code, words = REFUSALS[case]

    with pytest.raises(PhotoRefused) as refused:
        store_photos(site, "inc-1", uploads(), AT, min_count=min_count)

    assert (refused.value.status_code, refused.value.code) == (status, code)
    assert all(word in str(refused.value) for word in words), str(refused.value)
    assert files_under(photos_dir(site)) == []


def test_pillows_own_bomb_limit_is_a_refusal_too(site: Site) -> None:
    out = io.BytesIO()
    Image.new("1", (20_000, 10_000)).save(out, "PNG")  # 200 megapixels: Pillow itself refuses to open it

    with pytest.raises(PhotoRefused) as refused:
        store_photos(site, "inc-1", [Upload("huge.png", out.getvalue())], AT)

    assert refused.value.status_code == 413 and "huge.png" in str(refused.value)


def test_a_file_name_is_shown_without_folders_or_control_characters(site: Site) -> None:
    with pytest.raises(PhotoRefused) as refused:
        store_photos(site, "inc-1", [Upload("C:\\Users\\me\\x\x1b[31m.jpg", b"text")], AT)

    assert "x[31m.jpg" in str(refused.value) and "Users" not in str(refused.value) and "\x1b" not in str(refused.value)


def test_no_photo_is_fine_when_none_is_required(site: Site) -> None:
    assert store_photos(site, "inc-1", [], AT, min_count=0) == []


def test_discarding_removes_the_files_and_the_empty_folder(site: Site) -> None:
    photos = store_photos(site, "inc-1", [Upload("a.jpg", picture()), Upload("b.png", picture("PNG"))], AT)
    assert len(files_under(photos_dir(site))) == 2

    discard_photos(site, photos)

    assert files_under(photos_dir(site)) == [] and not (photos_dir(site) / "inc-1").exists()


def test_discarding_never_touches_a_file_outside_the_photos_folder(site: Site) -> None:
    [photo] = store_photos(site, "inc-1", [Upload("a.jpg", picture())], AT)
    outside = site.path("var/evidence/cam-01.jpg")
    outside.write_bytes(picture())

    discard_photos(site, [photo.__class__(path="var/evidence/cam-01.jpg", size_bytes=1, width=1, height=1,
                                          sha256="0" * 64)])

    assert outside.exists() and site.path(photo.path).exists()


def test_photo_file_is_only_a_jpg_inside_the_photos_folder(site: Site, tmp_path: Path) -> None:
    [photo] = store_photos(site, "inc-1", [Upload("a.jpg", picture())], AT)
    evidence = site.path("var/evidence/snap.jpg")
    evidence.write_bytes(picture())
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(picture())
    (photos_dir(site) / "inc-1" / "link.jpg").symlink_to(secret)
    (photos_dir(site) / "inc-1" / "note.txt").write_text("x")

    assert photo_file(site, photo.path) is not None
    assert photo_file(site, str(site.path(photo.path))) is not None  # an absolute path inside is fine
    for stored in ("var/evidence/snap.jpg", "site.yaml", str(secret), "var/evidence/photos/inc-1/link.jpg",
                   "var/evidence/photos/inc-1/note.txt", "var/evidence/photos/inc-1/../../snap.jpg",
                   "var/evidence/photos/missing.jpg"):
        assert photo_file(site, stored) is None, stored


def upload_file(name: str, data: bytes) -> UploadFile:
    return UploadFile(io.BytesIO(data), filename=name)


def test_read_uploads_reads_each_file() -> None:
    files = [upload_file("a.jpg", b"first"), upload_file("b.jpg", b"second")]

    assert asyncio.run(read_uploads(files)) == [Upload("a.jpg", b"first"), Upload("b.jpg", b"second")]


def test_read_uploads_stops_one_byte_past_the_limit() -> None:
    huge = upload_file("IMG_5.jpg", bytes(MAX_PHOTO_BYTES + 5_000_000))

    with pytest.raises(PhotoRefused) as refused:
        asyncio.run(read_uploads([huge]))

    assert refused.value.code == "too_large" and "IMG_5.jpg" in str(refused.value)
    assert huge.file.tell() == MAX_PHOTO_BYTES + 1


def test_read_uploads_refuses_too_many_before_reading() -> None:
    files = [upload_file(f"{n}.jpg", b"x") for n in range(4)]

    with pytest.raises(PhotoRefused) as refused:
        asyncio.run(read_uploads(files))

    assert refused.value.code == "too_many" and all(file.file.tell() == 0 for file in files)


def test_read_uploads_skips_a_file_input_left_empty() -> None:
    assert asyncio.run(read_uploads([upload_file("", b"")])) == []


# /photos/{id} over HTTP


def photo_of_resolved_incident(bench: Workbench, camera_id: str = "cam-01") -> tuple[int, str]:
    """A photo row as the phone's resolve leaves it: stored, then the incident resolved with it."""
    incident_id = dispatch_incident(bench, camera_id)
    photos = store_photos(bench.site, incident_id, [Upload("IMG_1.jpg", phone_jpeg())], bench.clock())
    with bench.sessions() as session, session.begin():
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.worker_id
        assert bench.field_work.resolve(session, incident, "user:zhangwei", incident.worker_id, bench.clock(),
                                        "已清理", photos)
    with bench.sessions() as session:
        return session.scalars(select(IncidentPhoto.id).where(IncidentPhoto.incident_id == incident_id)).one(), \
            incident_id


def people(bench: Workbench) -> None:
    add_person(bench, "zhangwei", "worker", "grid:G-01", worker_id="w-001")
    add_person(bench, "lina", "worker", "grid:G-02", worker_id="w-002")
    add_person(bench, "huifeng-leader", "leader", "community:外滩街道/汇丰社区")  # G-01
    add_person(bench, "jinling-leader", "leader", "community:外滩街道/金陵社区")  # G-02: same street, not the grid
    add_person(bench, "guizhou-leader", "leader", "community:南京东路街道/贵州社区")  # G-03: another street
    add_person(bench, "bund-centre", "centre", "street:外滩街道")
    add_person(bench, "district", "centre", "district")


@pytest.mark.parametrize(("who", "served"), [("zhangwei", True), ("lina", False), ("huifeng-leader", True),
                                             ("jinling-leader", False), ("guizhou-leader", False),
                                             ("bund-centre", True), ("district", True)])
def test_a_photo_is_served_only_within_scope(bench: Workbench, who: str, served: bool) -> None:
    people(bench)
    photo_id, _ = photo_of_resolved_incident(bench)

    with http_client(bench) as client:
        sign_in(client, who)
        response = client.get(f"/photos/{photo_id}")

    if served:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["cache-control"] == "private, max-age=300"
        assert Image.open(io.BytesIO(response.content)).size == (40, 80)
        assert b"Exif\x00\x00" not in response.content
    else:
        assert response.status_code == 404
        assert response.content[:2] != b"\xff\xd8"


def test_signed_out_the_photo_asks_for_a_sign_in(bench: Workbench) -> None:
    people(bench)
    photo_id, _ = photo_of_resolved_incident(bench)

    with http_client(bench) as client:
        response = client.get(f"/photos/{photo_id}", follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.mark.parametrize(("photo", "status"), [("999999", 404), ("0", 422), ("-1", 422), ("abc", 422),
                                              ("99999999999999999999999", 422), ("1.jpg", 422)])
def test_an_unknown_photo_is_not_found(bench: Workbench, photo: str, status: int) -> None:
    people(bench)
    photo_of_resolved_incident(bench)

    with http_client(bench) as client:
        sign_in(client, "district")
        response = client.get(f"/photos/{photo}")

    assert response.status_code == status


def test_a_worker_sees_the_photos_of_incidents_theirs_now(bench: Workbench) -> None:
    people(bench)
    incident_id = dispatch_incident(bench, "cam-01")
    with bench.sessions() as session, session.begin():
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.worker_id == "w-001"
        bench.interventions.reassign(session, incident, "w-002", "user:district", bench.clock())
    photos = store_photos(bench.site, incident_id, [Upload("IMG_1.jpg", picture())], bench.clock())
    with bench.sessions() as session, session.begin():
        incident = session.get(Incident, incident_id)
        assert incident is not None
        bench.field_work.resolve(session, incident, "user:lina", "w-002", bench.clock(), None, photos)
        photo_id = session.scalars(select(IncidentPhoto.id).where(IncidentPhoto.incident_id == incident_id)).one()

    for who, status in (("lina", 200), ("zhangwei", 404)):
        with http_client(bench) as client:
            sign_in(client, who)
            assert client.get(f"/photos/{photo_id}").status_code == status, who


@pytest.mark.parametrize("stored", ["site.yaml", "var/evidence/snap.jpg", "/etc/passwd",
                                    "var/evidence/photos/../snap.jpg"])
def test_a_stored_path_outside_the_photos_folder_is_not_served(bench: Workbench, stored: str) -> None:
    people(bench)
    photo_id, _ = photo_of_resolved_incident(bench)
    bench.site.path("var/evidence/snap.jpg").write_bytes(picture())
    with bench.sessions() as session, session.begin():
        session.execute(update(IncidentPhoto).where(IncidentPhoto.id == photo_id).values(path=stored))

    with http_client(bench) as client:
        sign_in(client, "district")
        response = client.get(f"/photos/{photo_id}")

    assert response.status_code == 404
