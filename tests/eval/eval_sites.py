"""The evaluation set's cases: for each situation, the clip (a file of ../shared/footage, or a clip the
test makes from one), its truth file under truth/, and the one-camera site it is judged with.

Every site watches the whole frame (one zone tagged for both parking kinds), so everything the
detector sees can raise an incident: the set measures the rules, not a carefully drawn zone. Dwell
times are short for CI (the clips last 7.5 to 30 s); the truth files hold facts about the objects
(when they stand, where), and the evaluator derives each confirm window from the site's dwell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import shared_asset
from tests.e2e.replay_site import write_site
from tests.eval.degraded_clips import (
    DARK_NIGHT_GAIN,
    DARK_NIGHT_GAMMA,
    STRONG_SHAKE_PX,
    make_night_clip,
    make_shaken_clip,
)
from tests.eval.made_clips import SOHAIB, make_occluded_clip
from tests.helpers.media import make_still_clip

TRUTH = Path(__file__).parent / "truth"
WHOLE_FRAME = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
ZONE_TAGS = {"motor_parking": "no_parking_motor", "non_motor_parking": "no_parking_non_motor"}
SHORT_DWELL_S = 4  # long enough that passing traffic should never reach it, short enough for 7.5 s clips
QUEUE_DWELL_S = 12  # bagus's queue stands about 10 s in view: a red light, not parking
OCCLUSION_DWELL_S = 14  # the passing car hides the parked one from about 8 to 16 s of the 30 s clip
STILL_CLIP_S = 8  # the parked bikes' photo, as a clip a little longer than the short dwell

ClipMaker = Callable[[Path, Path], Path]  # (footage it is made from, where to write it) -> the clip


@dataclass(frozen=True)
class EvalCase:
    name: str  # the truth file's stem, and the made clip's
    covers: str  # the situation, in words
    footage: str  # the shared asset: the clip itself, or what `make` makes it from
    dwell_s: Mapping[str, float]  # kind -> dwell of the site's rule for it
    make: ClipMaker | None = None

    @property
    def truth(self) -> Path:
        return TRUTH / f"{self.name}.yaml"

    @property
    def clip_name(self) -> str:
        """The file name the truth file's entry is matched by."""
        return f"{self.name}.mp4" if self.make else Path(self.footage).name


def make_occluded(pialin: Path, out: Path) -> Path:
    return make_occluded_clip(out, pialin, shared_asset(SOHAIB))  # the passing car is cut from sohaib


def make_parked_bikes(photo: Path, out: Path) -> Path:
    return make_still_clip(photo, out, STILL_CLIP_S)


PARKED = {"motor_parking": SHORT_DWELL_S}
BOTH_KINDS = {"motor_parking": SHORT_DWELL_S, "non_motor_parking": SHORT_DWELL_S}

OCCLUSION = EvalCase("parked_car_occluded", "the parked car hidden for a while by a car passing in front of it",
                     "footage/videos/pialin_street.mp4", {"motor_parking": OCCLUSION_DWELL_S}, make_occluded)
CASES = (
    EvalCase("parked_car_rain", "a parked car in rain, people with umbrellas walking past",
             "footage/videos/pialin_street.mp4", PARKED),
    EvalCase("passing_traffic", "a busy avenue: cars and motorcycles passing, nothing parked",
             "footage/videos/sohaib_raasta_traffic.mp4", BOTH_KINDS),
    EvalCase("passing_people_cyclists", "a shopping street: people walking, cyclists riding and pushing bikes",
             "footage/videos/dyh_unbox_test.mp4", BOTH_KINDS),
    EvalCase("queue_stop_go", "motorcycles queued at a red light (the camera zooms in and out)",
             "footage/videos/bagus_indonesia_cctv.mp4",
             {"motor_parking": QUEUE_DWELL_S, "non_motor_parking": QUEUE_DWELL_S}),
    OCCLUSION,
    EvalCase("parked_bikes", "shared bikes parked on a pavement (a photo made into a still clip)",
             "footage/images/zeyan_sharedbike_main1.jpg", BOTH_KINDS, make_parked_bikes),
    EvalCase("shaking_camera", "the parked car, the camera shaking by a few pixels every frame",
             "footage/videos/pialin_street.mp4", PARKED, make_shaken_clip),
    EvalCase("shaking_camera_strong", "the parked car, the camera shaking by up to 16 px every frame (a gale)",
             "footage/videos/pialin_street.mp4", PARKED, partial(make_shaken_clip, shake_px=STRONG_SHAKE_PX)),
    EvalCase("night", "the parked car at night: dark and grainy",
             "footage/videos/pialin_street.mp4", PARKED, make_night_clip),
    EvalCase("night_unlit", "the parked car on an unlit street at night: a faint shape in the grain",
             "footage/videos/pialin_street.mp4", PARKED,
             partial(make_night_clip, gamma=DARK_NIGHT_GAMMA, gain=DARK_NIGHT_GAIN)),
    EvalCase("passing_traffic_shaking", "the busy avenue, the camera shaking: moving traffic must not look parked",
             "footage/videos/sohaib_raasta_traffic.mp4", BOTH_KINDS, make_shaken_clip),
    EvalCase("passing_traffic_night", "the busy avenue at night: vehicles seen on and off in the grain",
             "footage/videos/sohaib_raasta_traffic.mp4", BOTH_KINDS, make_night_clip),
)


def write_case_site(folder: Path, case: EvalCase, clip: Path, model: Path) -> Path:
    """The replay tests' one-camera site, watching the whole frame with the case's rules."""
    path = write_site(folder, str(clip), model, polygon=WHOLE_FRAME)
    site: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    (zone,) = site["cameras"][0]["zones"]
    zone["tags"] = sorted(ZONE_TAGS.values())
    site["rules"] = [{"kind": kind, "zone_tags": [ZONE_TAGS[kind]], "dwell_s": dwell_s}
                     for kind, dwell_s in case.dwell_s.items()]
    path.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return path
