"""AI Brain: the thin app layer — the `aibrain` CLI and the wiring of the stages.

cli.py — the `aibrain` command: argument parsing and dispatch to the commands below.
site_loading.py — loading a site file for a command, or exiting with every problem printed.
assemble.py — building the stages (model, rules, dispatcher, closed loop) from a loaded site.
logs.py — logging set-up, with credentials redacted.
redacted_output.py — stdout and stderr through a redacting writer.
database_unavailable.py — one clear line and exit 1 when the database cannot be reached.
assets.py — where the shared test weights and footage are found (AIBRAIN_ASSETS).
live/ — `aibrain run`: the live run, its supervisor, status server and metrics.
replay/ — `aibrain replay`: recorded footage through a camera's rules, and the analyst's report.
evaluation/ — `aibrain eval incidents`: a camera's incidents on recorded files scored against labelled truth.
worker/ — `aibrain worker`: a grid worker's command-line client and local inbox.
model_tools/ — `aibrain models`: model cards' weights, export, training, evaluation.
dataset/ — `aibrain dataset export`: confirmed incidents and false alarms as a YOLO training dataset.
broker_setup/ — `aibrain broker provision` and the site's broker settings.
web/ — `aibrain web`: the command centre's workbench (and `aibrain users`).
"""

__version__ = "0.1.0"
