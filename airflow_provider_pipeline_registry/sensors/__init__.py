"""Sensors of the pipeline registry."""
