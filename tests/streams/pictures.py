"""What reached the mailbox, checked against the clip the server played: real pictures only."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from streams.frame import Frame

# Mean colour difference (0..255) of the worst 16x16 block against the clip's own picture: a
# clean re-encode of the same still stays under ~5, a damaged or concealed picture reaches ~90.
MAX_BLOCK_DIFF = 20.0
_BLOCK = 16


def reference_pictures(clip: Path) -> dict[tuple[int, int], np.ndarray]:
    """The first picture of each size in a still-image clip, decoded from the file itself (BGR)."""
    pictures: dict[tuple[int, int], np.ndarray] = {}
    with av.open(str(clip)) as container:
        for frame in container.decode(container.streams.video[0]):
            pictures.setdefault((frame.width, frame.height), frame.to_ndarray(format="bgr24"))
    return pictures


def worst_block_diff(image: np.ndarray, reference: np.ndarray) -> float:
    diff = np.abs(image.astype(np.int16) - reference.astype(np.int16)).mean(axis=2)
    height, width = (diff.shape[0] // _BLOCK) * _BLOCK, (diff.shape[1] // _BLOCK) * _BLOCK
    blocks = diff[:height, :width].reshape(height // _BLOCK, _BLOCK, width // _BLOCK, _BLOCK)
    return float(blocks.mean(axis=(1, 3)).max())


def assert_served_picture(image: np.ndarray, references: dict[tuple[int, int], np.ndarray], what: str) -> None:
    """The picture is the served still, undamaged: not blank, concealed or corrupt."""
    height, width = image.shape[:2]
    reference = references.get((width, height))
    assert reference is not None, f"{what}: size {width}x{height} was never served"
    diff = worst_block_diff(image, reference)
    assert diff < MAX_BLOCK_DIFF, f"{what} differs from the served clip: {diff:.0f}"


def assert_served_pictures(frames: list[Frame], references: dict[tuple[int, int], np.ndarray]) -> None:
    assert frames, "no frame reached the mailbox"
    for frame in frames:
        assert_served_picture(frame.image, references, f"frame {frame.seq} at {frame.media_time_s:.1f} s")
