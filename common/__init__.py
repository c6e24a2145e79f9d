"""The bottom package: small helpers every stage and the app use. It imports no other package
of the project.

backoff.py — capped exponential backoff between reconnect attempts.
clock.py — the one wall clock (timezone-aware UTC), passed into roles so tests can set the time.
durations.py — DurationHistogram: the stages' latencies in fixed buckets, read by the app's metrics.
redact.py — credentials cut out of URLs and texts before they reach a log line, message or report.
role.py — ThreadRole: the shape of every long-running part (a run() loop, a stop event, a thread).
schedule.py — weekly time windows in a site's local time: duty shifts, allowed hours of a zone.
stage_cpu.py — StageCpu: thread CPU seconds per pipeline stage (decode … storage), for capacity figures.
"""
