"""The truth file of `aibrain eval incidents`: what really stands in each recorded file (format version 1).

It records facts about the objects, not rule windows: when each object arrives and leaves, what kind of
violation it is, where. The evaluator derives when confirming it is right from the camera's rule
(its `dwell_s`), so the same truth serves a short test dwell and a production one.

```yaml
version: 1
files:
  - file: pialin_street.mp4          # matched to each FILE given by its name (the basename)
    range: [0, 7.5]                  # optional: media seconds evaluated (the replay reads only these)
    objects:                         # what really stands there (may be empty: every incident is false)
      - id: peugeot                  # unique in its file entry; misses name it
        kind: motor_parking          # the violation kind it should raise (a kind of the site's taxonomy)
        zone: sidewalk               # optional: the camera's zone it should be raised in
        stands: [0.0, null]          # media s it arrives/stops .. leaves (null: still there at the end)
        box: [0.52, 0.44, 0.99, 0.76]  # optional: where it stands, fractions of the frame (x1, y1, x2, y2)
        confirm_window: null         # optional override of the window in which confirming is right [from, to]
    ignore:                          # optional: incidents that fit an entry count neither way
      - {kind: motor_parking, box: [0, 0, 1, 0.1]}   # any of kind, zone, box, during: [from, to] media s
```

Confirming an object is right in `[stands[0] + dwell_s - slack, min(stands[1], end) + slack]`: `dwell_s` is
the camera's rule for its kind (in its zone), `slack` is `--slack-s` (default 1/detect_fps + 0.5 s), `end`
is where the part evaluated ends, and an object there before `range` starts is taken to arrive at its start.
An object standing for less than its rule's `dwell_s` expects no incident: it is there so that a
confirmation of it counts as a false alarm ("outside its window"), not as a miss.
Problems name the truth file, the entry and the field, e.g.
`truth.yaml: files[0].objects[1].stands: leaves (3 s) before it arrives (5 s)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from configs.problems import ConfigError, ConfigProblem
from configs.strict import Strict
from configs.yaml_file import read_yaml, schema_problems

MediaSeconds = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Box = tuple[Fraction, Fraction, Fraction, Fraction]


def ordered_box(box: Box | None) -> Box | None:
    if box is not None and not (box[0] < box[2] and box[1] < box[3]):
        raise ValueError("a box is [x1, y1, x2, y2] with x1 < x2 and y1 < y2 (fractions of the frame)")
    return box


def ordered_span(span: tuple[float, float] | None) -> tuple[float, float] | None:
    if span is not None and span[1] <= span[0]:
        raise ValueError(f"[from, to]: to ({span[1]:g} s) must be after from ({span[0]:g} s)")
    return span


class TruthObject(Strict):
    """One object that really stands in a file, and the violation it should raise."""

    id: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1)
    zone: str | None = None
    stands: tuple[MediaSeconds, MediaSeconds | None]
    box: Box | None = None
    confirm_window: tuple[MediaSeconds, MediaSeconds] | None = None

    @field_validator("stands")
    @classmethod
    def leaves_after_it_arrives(cls, stands: tuple[float, float | None]) -> tuple[float, float | None]:
        if stands[1] is not None and stands[1] <= stands[0]:
            raise ValueError(f"leaves ({stands[1]:g} s) before it arrives ({stands[0]:g} s)")
        return stands

    _box = field_validator("box")(ordered_box)
    _window = field_validator("confirm_window")(ordered_span)


class IgnoreEntry(Strict):
    """Incidents that fit every condition given here count neither as right nor as false."""

    kind: str | None = None
    zone: str | None = None
    box: Box | None = None
    during: tuple[MediaSeconds, MediaSeconds] | None = None

    _box = field_validator("box")(ordered_box)
    _during = field_validator("during")(ordered_span)


class TruthEntry(Strict):
    """The truth about one recorded file."""

    file: str = Field(min_length=1)
    range: tuple[MediaSeconds, MediaSeconds] | None = None
    objects: list[TruthObject] = Field(default_factory=list)
    ignore: list[IgnoreEntry] = Field(default_factory=list)

    _range = field_validator("range")(ordered_span)

    @field_validator("objects")
    @classmethod
    def ids_are_unique(cls, objects: list[TruthObject]) -> list[TruthObject]:
        ids = [o.id for o in objects]
        if twice := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"object id(s) given twice: {', '.join(twice)}")
        return objects

    @property
    def name(self) -> str:
        """The file name FILE arguments are matched by."""
        return Path(self.file).name


class Truth(Strict):
    version: Literal[1]
    files: list[TruthEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def names_are_unique(self) -> Truth:
        names = [entry.name for entry in self.files]
        if twice := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"more than one entry for the file name(s) {', '.join(twice)}")
        return self


def load_truth(file: Path) -> tuple[Truth, dict[str, object]]:
    """The truth file validated, and its raw data (to name entries in later problems); ConfigError otherwise."""
    raw = read_yaml(file)
    try:
        return Truth.model_validate(raw), raw
    except ValidationError as exc:
        raise ConfigError(schema_problems(file, raw, exc)) from None


def entries_for(truth_file: Path, truth: Truth, files: list[Path]) -> list[TruthEntry]:
    """Each FILE's entry, by file name; a FILE without one (or two FILEs of one name) is a problem."""
    by_name = {entry.name: entry for entry in truth.files}
    problems = []
    names = [file.name for file in files]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(ConfigProblem(truth_file, "files", f"FILEs given share the name {name}; the truth "
                                      "matches files by name, so each must have its own"))
    for file in files:
        if file.name not in by_name:
            problems.append(ConfigProblem(truth_file, "files", f"no entry for {file.name} (FILE {file}); "
                                          f"entries: {', '.join(sorted(by_name))}"))
    if problems:
        raise ConfigError(problems)
    return [by_name[file.name] for file in files]
