"""What `aibrain replay` is given: folders of recordings, media times as analysts type them, file timelines."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from aibrain.replay.inputs import ReplayInputError, format_media_time, media_time, video_files
from aibrain.replay.replay_run import file_origins


@pytest.mark.parametrize(("text", "seconds"), [
    ("0", 0.0), ("90", 90.0), ("90.5", 90.5), ("1:30", 90.0), ("01:30.25", 90.25), ("1:02:03", 3723.0),
    ("12:00:00", 43200.0), (" 0:05 ", 5.0),
])
def test_media_times_in_seconds_or_clock_form(text: str, seconds: float) -> None:
    assert media_time(text) == seconds


@pytest.mark.parametrize(("text", "problem"), [
    ("-1", "0 or more"), ("nan", "finite"), ("inf", "finite"), ("1:60", "below 60"), ("1:00:75", "below 60"),
    ("ten", "give seconds"), ("1::2", "give seconds"), ("", "give seconds"),
])
def test_bad_media_times_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ReplayInputError, match=problem):
        media_time(text)


def test_media_time_formats_as_players_show_it() -> None:
    assert [format_media_time(s) for s in (0, 4.0, 59.96, 3723.46)] == ["0:00:00.0", "0:00:04.0", "0:01:00.0",
                                                                         "1:02:03.5"]


def test_folders_give_their_video_files_sorted_by_path_with_sub_folders(tmp_path: Path) -> None:
    for name in ("b.mp4", "a.MKV", "notes.txt", "2026-05-02/0900.mp4", "2026-05-01/1000.ts", "2026-05-01/0900.mp4"):
        (tmp_path / "rec" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "rec" / name).write_bytes(b"")
    single = tmp_path / "single.avi"
    single.write_bytes(b"")
    found = video_files([single, tmp_path / "rec"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "single.avi", "rec/2026-05-01/0900.mp4", "rec/2026-05-01/1000.ts", "rec/2026-05-02/0900.mp4",
        "rec/a.MKV", "rec/b.mp4"]


def test_missing_paths_and_folders_without_videos_are_errors_naming_them(tmp_path: Path) -> None:
    with pytest.raises(ReplayInputError, match="nowhere.mp4: no such file or folder"):
        video_files([tmp_path / "nowhere.mp4"])
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("")
    with pytest.raises(ReplayInputError, match=f"{tmp_path / 'docs'}: no video files"):
        video_files([tmp_path / "docs"])


def test_with_an_origin_files_follow_on_else_each_starts_at_its_modification_time(tmp_path: Path) -> None:
    files = [tmp_path / f"{i}.mp4" for i in range(3)]
    for index, file in enumerate(files):
        file.write_bytes(b"")
        os.utime(file, (1_700_000_000 + index, 1_700_000_000 + index))
    origin = datetime.fromisoformat("2026-05-01T09:00:00+08:00")
    assert file_origins(files, [600.0, None, 60.0], origin) == \
        [origin.timestamp(), origin.timestamp() + 600, origin.timestamp() + 600], "unknown length adds nothing"
    assert file_origins(files, [600.0, None, 60.0], None) == [1_700_000_000, 1_700_000_001, 1_700_000_002]
