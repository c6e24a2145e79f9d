"""Alembic migrations of the incident store, configured from code by `routing.incidents.migrate`.

env.py — the Alembic environment.
versions/ — the revisions, oldest first.
"""
