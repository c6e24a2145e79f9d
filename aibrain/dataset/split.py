"""Train or val, per camera and day: neighbouring frames of one camera look alike, so a day of a camera
goes wholly to one split (none leaks into the other), chosen by a stable hash, so the same camera-day
lands in the same split in every export.

The hash's share can leave a split empty when there are few camera-days; then the camera-day nearest
the threshold moves over, so both splits have images whenever there are two camera-days or more.
"""

from __future__ import annotations

import hashlib
from datetime import date
from enum import StrEnum

Group = tuple[str, date]  # camera id, local day


class Split(StrEnum):
    TRAIN = "train"
    VAL = "val"


def group_hash(group: Group) -> float:
    """A fraction in [0, 1) fixed by the camera and day alone.

    >>> group_hash(("cam-07", date(2026, 5, 1))) == group_hash(("cam-07", date(2026, 5, 1)))
    True
    """
    camera_id, day = group
    digest = hashlib.sha256(f"{camera_id}/{day.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(groups: set[Group], val_share: float) -> dict[Group, Split]:
    """Each camera-day's split: val when its hash is below `val_share`, both splits kept non-empty
    when there are two groups or more.

    >>> days = {("cam-07", date(2026, 5, d)) for d in (1, 2)}
    >>> sorted(split.value for split in assign_splits(days, 0.2).values())
    ['train', 'val']
    """
    by_hash = sorted(groups, key=group_hash)
    splits = {group: Split.VAL if group_hash(group) < val_share else Split.TRAIN for group in by_hash}
    if len(by_hash) >= 2:
        if Split.VAL not in splits.values():
            splits[by_hash[0]] = Split.VAL
        if Split.TRAIN not in splits.values():
            splits[by_hash[-1]] = Split.TRAIN
    return splits
