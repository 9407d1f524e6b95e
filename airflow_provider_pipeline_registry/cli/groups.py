"""The command groups of ``pipeline-registry``, declared here once: name, module and help.

``pipeline-registry --help`` lists them from this table alone; a group's module (and what it
imports: pydantic, the registry's models) is imported only when a command of it runs or its help
is asked for (:class:`~.app.RegistryGroup`). Each group's ``typer.Typer`` takes its help from here.
"""

from __future__ import annotations

from typing import NamedTuple


class CommandGroup(NamedTuple):
    """One group: the module under ``cli.commands`` that defines it and the name of its typer app."""

    module: str
    app: str
    help: str


#: the groups in the order ``--help`` lists them
GROUPS: dict[str, CommandGroup] = {
    "tables": CommandGroup(
        "tables",
        "tables_app",
        "Create the registry tables and show their status; delete a table config; show or rewind a table's watermark.",
    ),
    "config": CommandGroup("config", "config_app", "Import and export pipeline and table configs (YAML or JSON)."),
    "pipelines": CommandGroup("pipelines", "pipelines_app", "Look at and delete pipeline configs."),
    "runs": CommandGroup("runs", "runs_app", "Look at pipeline runs."),
    "dags": CommandGroup("dags", "dags_app", "The snapshot that generated DAGs are built from."),
}
