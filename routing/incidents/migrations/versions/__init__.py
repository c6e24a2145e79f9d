"""The incident store's schema revisions, oldest first.

0001_initial.py — incidents, their events, the outbox, camera events.
0002_closed_loop.py — the closed loop: due times, escalation, verification, audit actions, consumed ids.
0003_kinds_as_data.py — kinds as data: an incident keeps its kind's 中文 label.
0004_centre_actions.py — the command centre's actions: promised deadlines, web actors, incident-list indexes.
0005_access.py — the workbench's users, their web sessions, the audit log.
0006_field_work.py — workers' photos and requests for more time; the worker a reassignment took an incident from.
0007_training_capture.py — an incident's clean frame (training data) and its false alarm's reason.
"""
