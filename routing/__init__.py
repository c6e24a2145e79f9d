"""Violations -> people: which grid and worker, the incident store and its closed loop, and the
RabbitMQ side. Knows violations (from `detector`) and camera health (from `streams`), never pixels.

assign/ — grids (GeoJSON polygons, point lookup) and the duty roster.
messages/ — the message contracts: alert, incident update, worker feedback.
incidents/ — the incident store, its lifecycle, dispatch and intake, deadlines, escalation,
             verification, the database and its migrations.
broker/ — RabbitMQ: connections, topology, the outbox relay, the feedback consumer,
          users and permissions (provisioning through the management API or rabbitmqctl).
access/ — the workbench's users and roles, passwords, web sessions, the audit log.
"""
