"""`aibrain replay`: recorded files through one camera's zones and rules, by media time.

replay_run.py — the replay itself: files -> detector -> incidents.
request.py — what a replay was asked to do: files, camera, media range, outputs.
inputs.py — the video files behind the given paths, and media times as typed.
outcome.py — what a replay produced: per file what was read and found, and the incidents.
report/ — the analyst's HTML report with CSV and JSON.
"""
