"""AI Brain: the thin app layer (CLI, config loading, wiring the stages together)."""

__version__ = "0.1.0"
