"""The evaluation set of issue 12: clips the tests make, labelled truth for real and made clips, and the
tests that hold incident-level precision and recall.

made_clips.py — clips made from real footage by the tests (a parked car hidden for a while by a passing car).
"""
