"""The message contracts that cross the broker, in one place (frozen pydantic models with a
schema version).

alert.py — the alert a worker's queue (and the command centre) receives.
update.py — an incident update: accepted, resolved, verified, reopened, escalated.
feedback.py — what a worker sends back: accept, resolve with a note.
"""
