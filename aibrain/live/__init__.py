"""`aibrain run`: the live run of a site's cameras.

live_run.py — wire the roles together, watch them, apply a reloaded site file, stop cleanly on a signal.
supervisor.py — every role thread watched; a dead one restarted, too many deaths end the run.
status_server.py — the metrics port: /metrics, /healthz, /readyz.
metrics.py — Prometheus metrics read from the roles' own counters at scrape time.
verifier_role.py — the detector's second looks at resolved incidents of this node's cameras.
site_watch.py — when to reload the site file: SIGHUP, or its content changed.
reload.py — a site reload worked out: what changed, what applies live, what waits for a restart.
camera_pictures.py — the camera cards' files: a small JPEG per camera and each camera's state and frames/s.
live_files.py — the files kept for the workbench in var/live/ and the readers the web calls.
"""
