"""The evaluation set of issue 12: clips the tests make, labelled truth for real and made clips, and the
tests that hold incident-level precision and recall.

made_clips.py — clips made from real footage by the tests (a parked car hidden for a while by a passing car).
degraded_clips.py — street footage made worse, deterministically: a camera that shakes, and night (dark and grainy).
eval_sites.py — the evaluation set's cases: which clip, which truth file, and the one-camera site each is judged with.
truth/ — the labelled truth files of the evaluation set (format version 1), one per case.
test_eval_set.py — `aibrain eval incidents` on every case: per-kind precision and recall, held above floors.
"""
