"""The site's broker settings and `aibrain broker provision`.

broker_settings.py — the topology, TLS files and per-user URLs the stages take from the site.
provision_command.py — `aibrain broker provision`: users, permissions, topology.
credentials_file.py — the worker credentials file the provisioning writes (mode 0600).
"""
