"""Triggers of the pipeline registry (run in the triggerer)."""
