"""`aibrain eval incidents`: how often a camera's rules are right, counted in incidents against labelled truth.

eval_command.py — the command's arguments, the table it prints, its exit codes.
truth.py — the truth file (format version 1, documented there): models, loading, each FILE's entry.
dwells.py — each truth object checked against the site, and its rule's dwell (which sets its window).
matching.py — incidents against the truth of a file: right ones, false alarms with why, misses; the figures.
eval_run.py — the files replayed in-process (the replay's machinery, a temporary SQLite), then matched.
eval_report.py — evaluation.html beside the replay's report: figures, false alarms, misses with the truth box.
"""
