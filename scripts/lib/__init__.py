"""Helpers shared by the scripts and the tests, imported as `scripts.lib.…` (a script run as a file
puts the checkout on sys.path first):

    private_services   a RabbitMQ node and a PostgreSQL cluster of one's own, stopped and started at will
    rtsp_camera        a real RTSP server (GStreamer) serving a clip, killed and restarted at will
    chaos_run          `aibrain` with a role-thread killer, for fault runs (no fault injection in production code)
    chaos_*            the pieces of scripts/chaos.py: its site and clip, its faults, its tally
    workdir            the folder a script works in: its --workdir, or a temporary one
"""
