"""Dwell: an object of given kinds standing still in a tagged zone for long enough (parking, and
single-object vending or out-of-store business with a custom model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from detector.rules.base import FrameView, ObjectsParameters, RuleBase, RuleHit, StandingParameters
from detector.rules.standing import StandingObjects


class DwellParameters(ObjectsParameters, StandingParameters):
    """One object of `objects` standing still in a zone for `dwell_s`."""

    type: Literal["dwell"] = "dwell"


@dataclass
class DwellRule(RuleBase[DwellParameters]):
    """Confirms once per standing object: kind in `objects`, bottom centre in a zone carrying one
    of `zone_tags`, confidence >= `min_confidence`, standing still (see `StandingObjects`) for
    `dwell_s` seconds of frame time, and seen (or hidden by other detections) in at least
    `min_seen_ratio` of the frames since it stopped. Short occlusions and tracker id switches neither
    restart the dwell nor raise a second violation; while the camera is offline the dwell is frozen.
    Another object stopping where one stood (a queue at a light, traffic on a busy road) does not
    inherit its dwell: found again after a gap, an object must look the same.

    Trade-off: an object at the place of a confirmed one of the same kind (overlapping it, or inside it),
    while that one is not yet forgotten (unseen for less than `lost_tolerance_s`), is not confirmed
    again, so that a look comparison gone wrong (headlights, a cover put over the car) or a part of the
    car boxed apart cannot raise a second incident for one car. The price: a second car parking in
    exactly the same spot within `lost_tolerance_s` of the first one's last sighting, or a small car
    parked in front of a parked van, is not reported.

    >>> rule = DwellRule("non_motor_parking", frozenset({"no_parking"}),
    ...                  DwellParameters(objects=("non_motor_vehicle",), dwell_s=180), max_frame_gap_s=10)
    """

    _standing: StandingObjects = field(init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._standing = StandingObjects(self.params, self.max_frame_gap_s)

    def evaluate(self, view: FrameView) -> list[RuleHit]:
        """Hits confirmed on this frame; timestamps must not decrease between calls."""
        indices, zones = view.candidates(self.params.objects, self.zone_tags, self.params.min_confidence)
        hits = []
        for index, standing in self._standing.update(view, indices, zones):
            if (not standing.confirmed and standing.dwell_s >= self.params.dwell_s
                    and standing.seen_ratio >= self.params.min_seen_ratio):
                standing.confirmed = True
                # A part of a confirmed object boxed apart (its rear half, in the dark) is that object.
                if not self._standing.at_confirmed_place(standing.object_kind, standing.anchor, besides=standing):
                    hits.append(RuleHit(self.kind, standing.zone, index, standing.object_kind,
                                        standing.first_seen_ts))
        return hits
