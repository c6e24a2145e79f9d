"""Frames -> violations: inference backends, a batcher across cameras, a tracker per camera,
the rule engine and evidence snapshots. Knows frames (from `streams`), never grids or people.
Its output type is `detector.violation.Violation`.
"""
