"""Who may use the command centre's workbench: users and their roles, passwords, web sessions, the audit log.

roles.py — the roles and which level of the organisation each may be scoped to.
access_tables.py — the tables: users, web sessions, the audit log.
passwords.py — Argon2id password hashes (argon2-cffi) and generated passwords.
accounts.py — adding users, changing passwords, disabling, signing in; the first admin.
web_sessions.py — sign-in sessions: opened, found (idle and absolute expiry), closed, purged.
audit.py — one audit row per action a person takes.
"""
