"""`aibrain run`: the live run of a site's cameras.

live_run.py — wire the roles together, watch them, stop cleanly on a signal.
supervisor.py — every role thread watched; a dead one restarted, too many deaths end the run.
status_server.py — the metrics port: /metrics, /healthz, /readyz.
metrics.py — Prometheus metrics read from the roles' own counters at scrape time.
verifier_role.py — the detector's second looks at resolved incidents of this node's cameras.
"""
