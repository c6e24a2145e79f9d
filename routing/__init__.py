"""Violations -> people: grid lookup, duty roster, incident store with outbox, relay to RabbitMQ.

grids.py (GeoJSON grids), roster.py (shifts, who is on duty), schema.py / db.py / migrate.py
(incident store), store.py (session-level writes, never committing), alert.py (the message
contract), deadlines.py (due-by times), topology.py (exchange and queues), dispatch.py (one
violation -> one committed incident + outbox row), relay.py (outbox -> broker, confirmed).
"""
