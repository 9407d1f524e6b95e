"""The command groups of ``pipeline-registry``: tables, config, pipelines, runs."""
