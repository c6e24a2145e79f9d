"""`aibrain worker`: a grid worker's command-line client.

arguments.py — its arguments, for the top parser in aibrain/cli.py.
worker_commands.py — inbox, accept, resolve, and the interactive prompt.
client.py — the worker's broker connection: fetch alerts into the inbox, send feedback.
inbox.py — the local inbox: alerts and updates kept in a JSON file.
"""
