"""`aibrain worker`: a grid worker's command-line client.

arguments.py — its arguments, apart so the top parser can be built without the client.
worker_commands.py — inbox, accept, resolve, and the interactive prompt.
client.py — the worker's broker connection: fetch alerts into the inbox, send feedback.
inbox.py — the local inbox: alerts and updates kept in a JSON file.
"""
