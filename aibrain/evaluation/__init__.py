"""`aibrain eval incidents`: how often a camera's rules are right, counted in incidents against labelled truth.

eval_command.py — the command's arguments and what it prints.
"""
