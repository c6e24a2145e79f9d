"""Benchmarks, soak and chaos runs, the stand-in RTSP camera; `scripts.lib` holds what they share with the tests."""
