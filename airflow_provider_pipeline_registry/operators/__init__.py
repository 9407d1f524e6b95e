"""Operators of the pipeline-registry provider."""
