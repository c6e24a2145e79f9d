"""The incident store and everything that moves an incident along the closed loop.

tables.py — the tables: incidents, their audit trail, the outbox, camera health, processed messages.
store.py — session-level reads and writes that never commit (the caller owns the transaction).
lifecycle.py — the incident state machine as a lookup table.
closed_loop.py — closed-loop actions inside the caller's transaction: transition, audit, outbox.
interventions.py — the command centre's actions: reassign, extend a deadline, false alarm, escalate.
false_alarms.py — why an incident was closed as a false alarm (误报): the reasons' codes and 中文 labels.
field_tables.py — what workers send besides a status: photos of the result, requests for more time.
field_work.py — a worker's own actions from the phone app (accept, resolve with photos, false alarm), sent once.
extension_requests.py — requests for more time (延期申请): asked by a worker, approved or refused by a leader.
worker_record_query.py — a worker's own record: their history for a month, and how many incidents stay open.
dispatch.py — a confirmed violation becomes an incident and its alert (and any incident an alert).
intake.py — the routing stage's loop: violations and camera events off a queue into the store.
spool.py — the intake's local files for what could not be stored before a stop.
deadlines.py — how long a worker has to accept and to resolve, per kind.
deadline_watcher.py — overdue incidents escalate to the next level.
escalation.py — who is told, level by level, when nobody acts in time.
verification.py — which resolved incidents the camera must look at again, and the verdict.
assessment.py — assessment (考核): the 数字城管 figures for a period, per street, community, grid, worker or kind.
assessment_tally.py — assessment arithmetic on fetched incidents: one incident's facts, a group's figures.
assessment_csv.py — the assessment as a CSV file for Excel (UTF-8 with a BOM, 中文 and English headers).
database.py — engines and sessions: SQLite (WAL) by default, PostgreSQL in production.
database_errors.py — which database errors are a message's fault rather than an outage.
migrate.py — bring a database's schema up to date (Alembic, configured from code).
migrations/ — the Alembic environment and its revisions.
"""
