"""Helpers shared by the scripts and the tests, imported as `scripts.lib.…` (a script run as a file
puts the checkout on sys.path first):

    private_services   a RabbitMQ node and a PostgreSQL cluster of one's own, stopped and started at will
    rtsp_camera        a real RTSP server (GStreamer) serving a clip (or N mounts of it), killed and restarted at will
    chaos_run          `aibrain` with a role-thread killer, for fault runs (no fault injection in production code)
    chaos_*            the pieces of scripts/chaos.py: its site and clip, its faults, its tally
    workdir            the folder a script works in: its --workdir, or a temporary one
    footage            a clip re-encoded as a street camera sends it (H.264, a keyframe a second), for the benches
    capacity_run       one step of scripts/bench_capacity.py: N RTSP cameras watched by `aibrain run` or Ultralytics
    capacity_math      the capacity bench's arithmetic: windows of counters, sustained, fairness, ceiling, the search
"""
